// Allow/deny sets for commands, from config plus the dangerous-by-default list.
#include "proxy/server/command_policy.h"

namespace proxy {

CommandPolicy::CommandPolicy(const config::CommandsConfig& cfg) {
  for (std::string_view d : kDeniedByDefault) denied_.emplace(d);
  for (const std::string& a : cfg.allow) denied_.erase(a);
  for (const std::string& d : cfg.deny) denied_.insert(d);
}

bool CommandPolicy::denied(std::string_view name, std::string_view sub) const {
  if (denied_.empty()) return false;
  std::string key(name);
  if (denied_.count(key)) return true;
  if (sub.empty()) return false;
  key += '|';
  key += sub;
  return denied_.count(key) > 0;
}

std::string deniedText(std::string_view entry) {
  return "ERR command '" + std::string(entry) +
         "' is disabled by ringproxy's configuration; to enable it, add it to commands.allow";
}

}  // namespace proxy
