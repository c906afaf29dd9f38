// WorkerCells: one worker's metric values. Written only by the owning worker thread (a
// relaxed load+store, no locked instruction), read by the scrape thread, which sums all
// workers' cells in MetricsCollector. Shared nothing on the request path.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "proxy/metrics/metric_list.h"
#include "proxy/metrics/shard_directory.h"

namespace metrics {

class Cell {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  // Mirrors a total the owner keeps elsewhere (the L1 cache's own counters).
  void set(uint64_t v) { v_.store(v, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class GaugeCell {
 public:
  void add(int64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
  int64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

struct ShardCells {
  Cell requests;
  std::array<Cell, kBackendErrorKinds.size()> errors;
  GaugeCell connectionsUp;
  std::array<Cell, kFlushReasons.size()> cacheFlushes;  // this shard's L1 entries dropped whole
};

// The L1 cache's process-wide side, written by the CacheHub's threads, read on scrape and
// by INFO.
struct CacheStats {
  std::atomic<uint64_t> invalidatedKeys{0};  // keys named by the shards' invalidation messages
  std::atomic<uint64_t> hotKeys{0};          // size of the published hot set
  std::atomic<uint64_t> replicas{0};         // hot-key copies the proxy keeps on shards
  std::atomic<uint64_t> subscribersUp{0};
  // INFO's "# Hotkeys" lines and, if hot_keys.export_key_names, (key, rate) pairs.
  void setHot(std::string info, std::vector<std::pair<std::string, double>> keys) {
    std::lock_guard<std::mutex> lock(mutex_);
    info_ = std::move(info);
    keys_ = std::move(keys);
  }
  std::string info() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return info_;
  }
  std::vector<std::pair<std::string, double>> keys() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return keys_;
  }

 private:
  mutable std::mutex mutex_;
  std::string info_;
  std::vector<std::pair<std::string, double>> keys_;
};

// Process-wide reload counters, written by the reloader thread, read on scrape.
struct ReloadStats {
  std::atomic<uint64_t> success{0};
  std::atomic<uint64_t> failure{0};
  std::atomic<double> lastSuccessUnix{0};
};

// Live rebalancing, written by the MigrationCoordinator (main thread), read on scrape and
// by INFO. Counters are totals over every migration since start.
struct MigrationStats {
  std::atomic<int> active{0};
  std::atomic<uint64_t> epoch{0};
  std::atomic<uint64_t> moved{0};
  std::atomic<uint64_t> scanned{0};
  std::atomic<uint64_t> conflicts{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> members{1};       // live proxy instances (membership records)
  std::atomic<uint64_t> membersReady{1};  // of them, at this instance's ring and phase
  // INFO's "# Migration" lines ("field:value\r\n"), replaced as a whole.
  void setInfo(std::string text) {
    std::lock_guard<std::mutex> lock(mutex_);
    info_ = std::move(text);
  }
  std::string info() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return info_;
  }

 private:
  mutable std::mutex mutex_;
  std::string info_;
};

class WorkerCells {
 public:
  // `commands` counters plus one for unknown commands (index == commands); shard cells
  // are indexed by ShardDirectory slot.
  explicit WorkerCells(size_t commands)
      : commandCount_(commands),
        requests_(new Cell[commands + 1]),
        shards_(new ShardCells[ShardDirectory::kMaxSlots]) {}

  void countRequest(size_t commandIndex) { requests_[commandIndex].add(); }
  void observeDuration(std::chrono::nanoseconds d) {
    const double s = std::chrono::duration<double>(d).count();
    size_t i = 0;
    while (i < kDurationBuckets.size() && s > kDurationBuckets[i]) ++i;
    buckets_[i].add();
    durationSumNanos_.add(static_cast<uint64_t>(d.count() > 0 ? d.count() : 0));
  }
  ShardCells& shard(size_t slot) { return shards_[slot]; }

  Cell protocolErrors;
  // The worker's L1 partition, mirrored from cache::L1Stats after each cache operation.
  Cell cacheHits;
  Cell cacheMisses;
  Cell cacheEvictions;
  GaugeCell cacheBytes;
  GaugeCell cacheEntries;
  Cell migrateOnAccess;  // MIGRATE commands sent because a request touched a moving key
  GaugeCell clients;
  std::array<Cell, kCloseReasons.size()> clientsClosed;

  // Read side (scrape thread).
  size_t commandCount() const { return commandCount_; }
  uint64_t requests(size_t i) const { return requests_[i].get(); }
  uint64_t bucket(size_t i) const { return buckets_[i].get(); }
  uint64_t durationSumNanos() const { return durationSumNanos_.get(); }
  const ShardCells& shard(size_t slot) const { return shards_[slot]; }

 private:
  size_t commandCount_;
  std::unique_ptr<Cell[]> requests_;
  std::array<Cell, kDurationBuckets.size() + 1> buckets_;  // last = +Inf
  Cell durationSumNanos_;
  std::unique_ptr<ShardCells[]> shards_;
};

}  // namespace metrics
