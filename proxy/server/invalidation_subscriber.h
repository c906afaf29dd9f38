// InvalidationSubscriber: the per-shard connection I of Redis's RESP2 two-connection
// tracking mode (design §6, anchors §5.2 steps 1, 4, 6, 7). One thread per shard, blocking
// hiredis on a socket it polls itself, so stopping never waits for more than 100 ms.
// Called by: CacheHub (creates one per shard while the cache is on, destroys it when the
// shard leaves the list or the cache is turned off). Events run on this thread; the hub
// forwards them to the workers by posting.
//
// One connection's life:
//   1. connect, AUTH, CLIENT SETNAME ringproxy-inv-<pid>-<n> (unique), CLIENT ID -> id;
//   2. SUBSCRIBE __redis__:invalidate and wait for its confirmation: only then is `ready(id)`
//      raised (Redis drops invalidations for a redirect target that is not subscribed yet);
//   3. messages: an array of keys -> `invalidate(keys)`; a null -> `flushAll()`
//      (FLUSHALL/FLUSHDB);
//   4. every heartbeat a PING (answered on a subscribed connection as ["pong", ""]); none
//      back within 3 heartbeats, EOF or any error -> `lost(why)`, then reconnect with
//      backoff (100 ms doubling to 2 s) from step 1 with a new id.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "proxy/migration/migrator.h"

namespace proxy {

class InvalidationSubscriber {
 public:
  struct Events {
    std::function<void(int64_t clientId, const std::string& name)> ready;
    std::function<void(std::vector<std::string> keys)> invalidate;
    std::function<void()> flushAll;
    std::function<void(const std::string& why)> lost;
  };

  InvalidationSubscriber(mig::ShardEndpoint endpoint, uint32_t heartbeatMs, Events events);
  // Stops the thread (within ~100 ms) and closes the connection; no event after return.
  ~InvalidationSubscriber();
  InvalidationSubscriber(const InvalidationSubscriber&) = delete;
  InvalidationSubscriber& operator=(const InvalidationSubscriber&) = delete;

  const mig::ShardEndpoint& endpoint() const { return endpoint_; }

 private:
  void run();
  // One connection, steps 1-4; returns why it ended.
  std::string session();

  mig::ShardEndpoint endpoint_;
  uint32_t heartbeatMs_;
  Events events_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace proxy
