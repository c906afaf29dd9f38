// CommandPolicy: which commands the operator has switched off (commands.deny) or on
// (commands.allow) on top of the defaults. Dangerous keyspace-wide commands are denied by
// default; the error names the config switch that enables them.
// Built from the config once per snapshot; consulted by the dispatcher per request only
// for commands whose strategy can be denied (a cheap flag check first).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_set>

#include "config/proxy_config.h"

namespace proxy {

// Denied unless listed in commands.allow ("config|set" is CONFIG SET).
inline constexpr std::array<std::string_view, 6> kDeniedByDefault{
    "keys", "flushall", "flushdb", "config|set", "save", "bgsave"};

class CommandPolicy {
 public:
  explicit CommandPolicy(const config::CommandsConfig& cfg);
  // `name` and `sub` lowercase; `sub` empty when the command has none.
  bool denied(std::string_view name, std::string_view sub) const;
  bool anyDenied() const { return !denied_.empty(); }

 private:
  std::unordered_set<std::string> denied_;
};

// The -ERR text for a denied command ("keys" or "config|set").
std::string deniedText(std::string_view entry);

}  // namespace proxy
