// ShardDirectory: the process-wide map from shard name to its metric slot. Shards come and
// go with reloads; a name keeps its slot for the life of the process, so per-shard
// counters stay monotonic and a scrape never reads a slot that moved to another shard.
// Written by workers when they (re)build their backend connections (rare, locked); read
// by the scrape thread without a lock (names are published before the count).
#pragma once

#include <array>
#include <atomic>
#include <mutex>
#include <string>
#include <string_view>

namespace metrics {

class ShardDirectory {
 public:
  // Past this many distinct names, the rest share the last slot (a config has far fewer).
  static constexpr size_t kMaxSlots = 256;

  static ShardDirectory& instance() {
    static ShardDirectory directory;
    return directory;
  }

  size_t slotOf(std::string_view name) {
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t n = count_.load(std::memory_order_relaxed);
    for (size_t i = 0; i < n; ++i) {
      if (names_[i] == name) return i;
    }
    if (n == kMaxSlots) return kMaxSlots - 1;
    names_[n] = std::string(name);
    count_.store(n + 1, std::memory_order_release);
    return n;
  }

  size_t size() const { return count_.load(std::memory_order_acquire); }
  const std::string& name(size_t slot) const { return names_[slot]; }

 private:
  std::mutex mutex_;
  std::array<std::string, kMaxSlots> names_;
  std::atomic<size_t> count_{0};
};

}  // namespace metrics
