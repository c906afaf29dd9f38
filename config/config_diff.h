// What a reloaded config file may change in a running proxy, and what it may not.
// Pure: compares two validated configs. Called by proxy::ConfigReloader on every reload.
//   - listen, threads, metrics, health: bound at start-up; a change is reported and the
//     running values are kept (never half-applied).
//   - the shard list (names, weights, order): applied, flagged as ringChanged; the caller
//     moves the keys (proxy::MigrationCoordinator).
//   - ring options (distribution, hash, hash_tag, vnodes): reported, running ones kept.
//   - everything else applies live: limits, commands, auth, backend settings and
//     credentials, log level, cache, hot_keys, hot_key_replication, and a shard's
//     address (keys follow names, not addresses).
//   - backend.auto_eject applies live, except that turning it on needs cluster.enabled:
//     false in the running config (cluster is restart-only): until then it stays off.
#pragma once

#include <string>
#include <vector>

#include "config/proxy_config.h"

namespace config {

struct ReloadPlan {
  ProxyConfig effective;           // the config to run with after this reload
  std::vector<std::string> notes;  // one line per change that was not applied
  bool ringChanged = false;        // placement differs: keys must move
};

// True when both place every key on the same shard name (options, names, weights, order).
bool sameRing(const ProxyConfig& a, const ProxyConfig& b);

ReloadPlan planReload(const ProxyConfig& running, const ProxyConfig& loaded);

}  // namespace config
