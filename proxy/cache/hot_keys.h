// HotKeyCounter: one worker's heavy-hitter counts over key strings (Space-Saving top-K with
// exponential decay); mergeHotKeys: the collector's step that turns every worker's top into
// the published hot set. Called by: the worker on each cacheable read (record), the hot-key
// collector once per window (top, then decay, then mergeHotKeys); tests.
// Single-threaded per instance; no I/O, no clocks (the collector owns the window timer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cache {

struct HotKeyCount {
  std::string key;
  double count = 0;  // upper bound of the key's (decayed) weight since it entered the table
  double error = 0;  // how much of `count` may belong to keys it displaced
  double lowerBound() const { return count - error; }
};

// Space-Saving (Metwally et al. 2005) over at most `capacity` keys:
//   1. record(key, w): a tracked key gains w; an untracked one takes the slot of the current
//      minimum m, starting at m + w with error m (so counts never under-estimate);
//   2. decay(f), once per window: every count and error is multiplied by f, so a key's count
//      is an exponentially weighted sum of its per-window weights and old bursts fade;
//   3. top(): the table, highest count first.
// Any key whose true weight exceeds total / capacity is guaranteed to be in the table.
// Sizing: keep capacity >= 10x the hot set to be published. Lower bounds keep cold keys out
// at any capacity, but recall drops: on a Zipf(0.99) stream over 4 workers (tests), 20 hot
// keys were all found with k = 256, 16 with k = 128, 8 with k = 64.
// Memory: `capacity` slots, each holding one copy of its key, plus an index of views onto them.
class HotKeyCounter {
 public:
  explicit HotKeyCounter(size_t capacity);
  // The index views keys inside slots_: a copy would view the original's, a move keeps the
  // slots' heap block (and so every view) as it is.
  HotKeyCounter(const HotKeyCounter&) = delete;
  HotKeyCounter& operator=(const HotKeyCounter&) = delete;
  HotKeyCounter(HotKeyCounter&&) = default;
  HotKeyCounter& operator=(HotKeyCounter&&) = default;

  void record(std::string_view key, double weight = 1.0);
  // 0 < factor <= 1; factor <= 0 clears the table.
  void decay(double factor);
  // Sorted by count descending, then key ascending, so equal inputs give equal outputs.
  std::vector<HotKeyCount> top() const;

  size_t size() const { return heap_.size(); }
  size_t capacity() const { return capacity_; }
  double totalWeight() const { return total_; }  // decayed like the counts

 private:
  struct Slot {
    std::string key;
    double count = 0;
    double error = 0;
    uint32_t heapPos = 0;
  };
  void siftDown(uint32_t pos);
  void siftUp(uint32_t pos);
  void swapHeap(uint32_t a, uint32_t b);
  double countAt(uint32_t pos) const { return slots_[heap_[pos]].count; }

  std::vector<Slot> slots_;       // reserved up front and never reallocated: index_ views it
  std::vector<uint32_t> heap_;    // slot ids, min-heap by count (the eviction candidate on top)
  std::unordered_map<std::string_view, uint32_t> index_;  // key -> slot id
  size_t capacity_;
  double total_ = 0;
};

struct HotKey {
  std::string key;
  double rate = 0;  // per second
};

// With decay f applied every `windowSeconds`, a steady rate r settles at a count of
// r * windowSeconds / (1 - f): pass this span to mergeHotKeys to read counts back as rates.
double effectiveWindowSeconds(double windowSeconds, double decayFactor);

// Sums each key's lower bound (count - error) over the workers' tops, divides by
// `windowSeconds`, keeps keys with rate >= minRate, sorts by rate descending then key, and
// truncates to topK. Lower bounds make the set conservative: a key's merged rate never
// exceeds its true rate, so a cold key never qualifies by inheriting a displaced count.
std::vector<HotKey> mergeHotKeys(const std::vector<std::vector<HotKeyCount>>& perWorkerTops,
                                 double minRate, double windowSeconds, size_t topK);

}  // namespace cache
