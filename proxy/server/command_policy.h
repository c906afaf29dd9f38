// CommandPolicy: which commands the operator has switched off (commands.deny) or on
// (commands.allow) on top of the defaults. Dangerous keyspace-wide commands are denied by
// default; the error names the config switch that enables them.
// Built from the config once per snapshot; consulted by the dispatcher on every request,
// so the check is a flag per command table index (no string work unless the command has
// a denied subcommand, like CONFIG SET).
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/proxy_config.h"

namespace proxy {

// Denied unless listed in commands.allow ("config|set" is CONFIG SET).
inline constexpr std::array<std::string_view, 6> kDeniedByDefault{
    "keys", "flushall", "flushdb", "config|set", "save", "bgsave"};

class CommandPolicy {
 public:
  explicit CommandPolicy(const config::CommandsConfig& cfg);
  // Empty when allowed; else the denied entry ("keys" or "config|set") for the error.
  // `commandIndex` indexes cmd::allCommands(); `sub` is the first argument, any case.
  std::string denied(size_t commandIndex, std::string_view sub) const;

 private:
  enum : uint8_t { kAllowed = 0, kWhole = 1, kSomeSubcommands = 2 };
  std::vector<uint8_t> state_;          // by command index
  std::set<std::string> deniedEntries_;  // "name" and "name|sub"
};

// The -ERR text for a denied command ("keys" or "config|set").
std::string deniedText(std::string_view entry);

}  // namespace proxy
