// WorkerCells: one worker's metric values. Written only by the owning worker thread (a
// relaxed load+store, no locked instruction), read by the scrape thread, which sums all
// workers' cells in MetricsCollector. Shared nothing on the request path.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "proxy/metrics/metric_list.h"

namespace metrics {

class Cell {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class GaugeCell {
 public:
  void add(int64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  int64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

struct ShardCells {
  Cell requests;
  std::array<Cell, kBackendErrorKinds.size()> errors;
  GaugeCell connectionsUp;
};

// Process-wide reload counters, written by the reloader thread, read on scrape.
struct ReloadStats {
  std::atomic<uint64_t> success{0};
  std::atomic<uint64_t> failure{0};
  std::atomic<double> lastSuccessUnix{0};
};

class WorkerCells {
 public:
  // `commands` counters plus one for unknown commands (index == commands).
  WorkerCells(size_t commands, size_t shards)
      : commandCount_(commands),
        requests_(new Cell[commands + 1]),
        shardCount_(shards),
        shards_(new ShardCells[shards]) {}

  void countRequest(size_t commandIndex) { requests_[commandIndex].add(); }
  void observeDuration(std::chrono::nanoseconds d) {
    const double s = std::chrono::duration<double>(d).count();
    size_t i = 0;
    while (i < kDurationBuckets.size() && s > kDurationBuckets[i]) ++i;
    buckets_[i].add();
    durationSumNanos_.add(static_cast<uint64_t>(d.count() > 0 ? d.count() : 0));
  }
  ShardCells& shard(size_t i) { return shards_[i]; }

  Cell protocolErrors;
  GaugeCell clients;
  std::array<Cell, kCloseReasons.size()> clientsClosed;

  // Read side (scrape thread).
  size_t commandCount() const { return commandCount_; }
  uint64_t requests(size_t i) const { return requests_[i].get(); }
  uint64_t bucket(size_t i) const { return buckets_[i].get(); }
  uint64_t durationSumNanos() const { return durationSumNanos_.get(); }
  size_t shardCount() const { return shardCount_; }
  const ShardCells& shard(size_t i) const { return shards_[i]; }

 private:
  size_t commandCount_;
  std::unique_ptr<Cell[]> requests_;
  std::array<Cell, kDurationBuckets.size() + 1> buckets_;  // last = +Inf
  Cell durationSumNanos_;
  size_t shardCount_;
  std::unique_ptr<ShardCells[]> shards_;
};

}  // namespace metrics
