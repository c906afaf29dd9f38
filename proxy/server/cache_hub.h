// CacheHub: the process-wide side of the L1 cache and of hot keys (design §6).
// Owns: one InvalidationSubscriber per shard while the cache or hot-key replication is on;
// the hot-key collector thread (every hot_keys.window_ms it takes each worker's counts,
// merges them, publishes the hot set to every worker, INFO and metrics); the replicator
// thread that writes and deletes hot-key copies.
// Called by: Server (apply on start-up and on every published snapshot; stop), workers
// (write gate and refill requests for replicated keys, any thread). Workers are reached
// only by posting to them.
//
// Hot-key copies (hot_key_replication), all done by the one replicator thread, so a
// copy's writes and deletes never race each other:
//   1. a key enters the replicated set (hot, replicas > 0, no migration running and no
//      shard ejected by backend.auto_eject): its value is read from its owner with DUMP
//      on a tracked connection (so a foreign write invalidates it) and RESTOREd as
//      __ringproxy:hot:<key> with ttl_ms (bounded by the key's own PTTL) into the
//      reserved database (cluster.db) of `replicas` other shards:
//      invisible to SCAN, KEYS, DBSIZE and FLUSHDB of db 0, and to the rebalancer;
//   2. refreshed every ttl_ms / 2 while hot, and at once when a reader found a copy missing;
//   3. a write through any worker first asks beginWrite: the copies are deleted and no
//      refill runs until endWrite (the write was answered); only then is the write sent;
//   4. an invalidation of the key from its owner (a foreign write), a lost subscriber or a
//      null invalidation deletes the copies; a key leaving the hot set has its copies deleted.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/metrics/worker_cells.h"
#include "proxy/server/worker.h"

namespace proxy {

class CacheHub {
 public:
  CacheHub(std::vector<Worker*> workers, metrics::CacheStats& stats);
  ~CacheHub();
  CacheHub(const CacheHub&) = delete;
  CacheHub& operator=(const CacheHub&) = delete;

  // Main thread: the snapshot the workers run with now (start-up and every publish).
  void apply(const RoutingSnapshot& snapshot);
  void stop();

  // Any thread (workers). Step 3: `done` runs (on the caller's worker, by post) once the
  // keys' copies are deleted; endWrite after the write was answered.
  void beginWrite(std::vector<std::string> keys, Worker* worker, std::function<void()> done);
  void endWrite(std::vector<std::string> keys);
  // A reader found the copy missing (step 2).
  void requestRefill(std::string key);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace proxy
