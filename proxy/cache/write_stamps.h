// WriteStamps: process-wide version counters over buckets of key names, bumped by every
// worker that forwards a write. A cached entry remembers the stamp of its key's bucket
// when its read was sent; an entry whose bucket moved on since is stale and never served.
// This is what makes a write through this proxy visible at once on *every* worker, without
// waiting for Redis's invalidation message to come back (design §6 step 5).
// Called by: ClientSession (bump before a write is sent and again when it is answered,
// read at lookup and fill time). Lock-free; any thread.
//
// Why two bumps: the first keeps a read pipelined behind the write (same client) from
// being answered from cache; the second voids a fill another worker sent before the write
// executed but that completes after it (its stamp no longer matches).
// Collisions only cost hits (two keys sharing a bucket invalidate each other's entries).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>

namespace cache {

class WriteStamps {
 public:
  static constexpr size_t kBuckets = 1u << 16;

  static WriteStamps& instance() {
    static WriteStamps stamps;
    return stamps;
  }
  static uint32_t bucketOf(std::string_view key) {
    return static_cast<uint32_t>(std::hash<std::string_view>{}(key) & (kBuckets - 1));
  }
  uint64_t get(uint32_t bucket) const { return stamps_[bucket].load(std::memory_order_acquire); }
  // seq_cst: the bump is visible to every core before the write leaves this process.
  void bump(uint32_t bucket) { stamps_[bucket].fetch_add(1, std::memory_order_seq_cst); }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> stamps_{};
};

}  // namespace cache
