// What a reloaded config file may change in a running proxy, and what it may not.
// Pure: compares two validated configs. Called by proxy::ConfigReloader on every reload.
//   - listen, threads, metrics, health: bound at start-up; a change is reported and the
//     running values are kept (never half-applied).
//   - the ring (ring options, shard names, weights, order): changing it moves keys, and
//     live rebalancing is not implemented yet, so a change is reported and the running
//     shards are kept whole.
//   - everything else applies live: limits, commands, auth, backend settings and
//     credentials, log level, and a shard's address (keys follow names, not addresses).
#pragma once

#include <string>
#include <vector>

#include "config/proxy_config.h"

namespace config {

struct ReloadPlan {
  ProxyConfig effective;           // the config to run with after this reload
  std::vector<std::string> notes;  // one line per change that was not applied
  bool ringChanged = false;
};

ReloadPlan planReload(const ProxyConfig& running, const ProxyConfig& loaded);

}  // namespace config
