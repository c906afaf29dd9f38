// WorkerCache: one worker's share of the L1 cache (design §6) and what decides whether a
// read may use it: the per-shard tracking state, the published hot set, hot-key counts.
// Owned by Worker; used by ClientSession (cache_route.cpp) and by Worker's tracking code
// (worker_tracking.cpp). Worker thread only. No Asio, no I/O.
//
// A shard's entries are served only while tracking covers every one of this worker's data
// connections to it: the shard's invalidation subscriber is up (its client id known) and
// each connection acknowledged `CLIENT TRACKING on REDIRECT <id> OPTIN` since it last
// connected. Anything that breaks that chain flushes the shard and stops its caching until
// the chain is whole again (see Worker::setupTracking).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "config/proxy_config.h"
#include "proxy/cache/hot_keys.h"
#include "proxy/cache/l1_cache.h"
#include "proxy/metrics/worker_cells.h"

namespace proxy {

// The hot set published by the CacheHub's collector; immutable, shared by all workers.
struct HotSet {
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, StringHash, std::equal_to<>> keys;
  std::vector<cache::HotKey> ranked;           // hottest first
  std::unordered_set<std::string, StringHash, std::equal_to<>> replicated;  // copies exist
  bool contains(std::string_view key) const { return keys.find(key) != keys.end(); }
  bool isReplicated(std::string_view key) const { return replicated.find(key) != replicated.end(); }
};

class WorkerCache {
 public:
  struct Tracking {
    int64_t redirectId = 0;  // the shard's subscriber's CLIENT ID; 0 = not subscribed now
    std::string subscriberName;  // its CLIENT SETNAME, checked with CLIENT LIST ID
    uint64_t generation = 0; // bumped at each setup: older acknowledgements are ignored
    size_t awaiting = 0;     // CLIENT TRACKING replies still due for this generation
    bool failed = false;     // one of them failed: wait for the next setup
  };

  explicit WorkerCache(metrics::WorkerCells& cells) : cells_(cells) {}

  // A config (start-up or reload): creates, resizes or drops the L1 partition (its byte
  // budget is cache.max_memory / workers). Resizing starts empty.
  void configure(const config::ProxyConfig& cfg, size_t workers);
  bool enabled() const { return l1_ != nullptr; }
  bool counting() const { return counter_ != nullptr; }
  cache::L1Cache& l1() { return *l1_; }
  // Changes whenever the partition is replaced: a fill token of an older one is void.
  uint64_t generation() const { return generation_; }
  bool admits(std::string_view key) const {
    return admitAll_ || (hot_ != nullptr && hot_->contains(key));
  }
  void recordRead(std::string_view key) {
    if (counter_) counter_->record(key);
  }
  // For the collector: this worker's counts since the last call, then decayed.
  std::vector<cache::HotKeyCount> takeTop(double decay);
  void setHotSet(std::shared_ptr<const HotSet> set) { hot_ = std::move(set); }
  const HotSet* hotSet() const { return hot_.get(); }

  Tracking& tracking(uint32_t slot);
  // Drops the shard's entries (in-flight fills are voided) and counts why.
  void flush(uint32_t slot, metrics::FlushReason reason);
  void invalidate(uint32_t slot, std::string_view key);
  void hit(uint64_t n = 1) { hits_ += n; }
  void miss(uint64_t n = 1) { misses_ += n; }
  // Copies the L1's counters into the worker's metric cells.
  void syncCells();

 private:
  metrics::WorkerCells& cells_;
  std::unique_ptr<cache::L1Cache> l1_;
  std::unique_ptr<cache::HotKeyCounter> counter_;
  std::shared_ptr<const HotSet> hot_;
  std::vector<Tracking> tracking_;  // by shard slot (metrics::ShardDirectory)
  bool admitAll_ = false;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  size_t budget_ = 0;
  uint64_t evictionsBefore_ = 0;
  uint64_t generation_ = 1;  // of partitions replaced by a reconfiguration
};

}  // namespace proxy
