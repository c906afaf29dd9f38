// Allow/deny flags for commands, from config plus the dangerous-by-default list.
#include "proxy/server/command_policy.h"

#include <cctype>

#include "proxy/command/command_table.h"

namespace proxy {

CommandPolicy::CommandPolicy(const config::CommandsConfig& cfg) {
  for (std::string_view d : kDeniedByDefault) deniedEntries_.emplace(d);
  for (const std::string& a : cfg.allow) deniedEntries_.erase(a);
  for (const std::string& d : cfg.deny) deniedEntries_.insert(d);
  const auto all = cmd::allCommands();
  state_.assign(all.size(), kAllowed);
  for (const std::string& entry : deniedEntries_) {
    const size_t bar = entry.find('|');
    const cmd::CommandSpec* spec = cmd::lookup(std::string_view(entry).substr(0, bar));
    if (spec == nullptr) continue;  // the config loader already rejected unknown names
    uint8_t& st = state_[static_cast<size_t>(spec - all.data())];
    st = bar == std::string::npos ? uint8_t{kWhole} : std::max<uint8_t>(st, kSomeSubcommands);
  }
}

std::string CommandPolicy::denied(size_t commandIndex, std::string_view sub) const {
  if (commandIndex >= state_.size() || state_[commandIndex] == kAllowed) return {};
  const std::string name(cmd::allCommands()[commandIndex].name);
  if (state_[commandIndex] == kWhole) return name;
  std::string entry = name + "|";
  for (char c : sub) entry += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return deniedEntries_.count(entry) ? entry : std::string();
}

std::string deniedText(std::string_view entry) {
  return "ERR command '" + std::string(entry) +
         "' is disabled by ringproxy's configuration; to enable it, add it to commands.allow";
}

}  // namespace proxy
