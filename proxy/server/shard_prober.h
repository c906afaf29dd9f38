// ShardProber: backend.auto_eject (twemproxy's auto_eject_hosts) decides here which shards
// are ejected; routing around them is RoutingSnapshot::ownerOf's (worker.h), the snapshot
// comes from the MigrationCoordinator.
// Owns: one thread and one blocking hiredis connection per probed shard (mig::ShardLink).
// Called by: proxy::Server — configure() at start-up and on every reload, stop() at
// shutdown (any thread). The thread calls `changed` with the names of the ejected shards
// each time that set changes.
//
// Each shard with weight > 0, every probe_interval_ms:
//   1. PING on its connection (connected and AUTHed first when needed); a +PONG within
//      min(probe_interval_ms, backend.connect_timeout_ms) is a success, anything else
//      (refused, timed out, -LOADING, -NOAUTH...) a failure;
//   2. failure_limit failures in a row eject it, unless no other shard with keys would be
//      left in routing (the last one stays: its keys get errors, as without auto_eject);
//   3. an ejected shard is left alone until retry_ms after its ejection, then probed every
//      probe_interval_ms; its first PONG takes it back.
// A shard whose address or credentials change starts over, not ejected; auto_eject turned
// off takes every shard back. Decisions are logged (warn on ejection, info on return).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/proxy_config.h"

namespace proxy {

class ShardProber {
 public:
  using Changed = std::function<void(std::vector<std::string> ejected)>;

  explicit ShardProber(Changed changed);
  ~ShardProber();
  ShardProber(const ShardProber&) = delete;
  ShardProber& operator=(const ShardProber&) = delete;

  // The shards and backend.auto_eject settings to probe with from now on.
  void configure(const config::ProxyConfig& cfg);
  // Joins the thread; `changed` is not called after this returns.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace proxy
