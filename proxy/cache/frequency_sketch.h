// FrequencySketch: the count-min sketch of 4-bit counters that W-TinyLFU consults to decide
// whether a newcomer is worth more than the entry it would push out of the main region.
// Called by: L1Cache (one sketch per cache partition, single-threaded); tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cache {

// Approximate access counts over a sliding history, in bounded memory:
//   1. increment(h) bumps the four counters h selects (one per row), saturating at 15;
//   2. estimate(h) is the minimum of those four, so it never under-counts since the last reset;
//   3. every `sampleSize` increments all counters are halved ("aging"), so the sketch
//      forgets old popularity at the same pace as the cache turns over (TinyLFU, §3.3).
// 15 is enough: admission only compares two estimates, and halving keeps them small.
class FrequencySketch {
 public:
  // `expectedEntries`: how many entries the cache holds when full. Sizes the rows
  // (4 counters per expected entry per row, so collisions stay rare) and the sample period
  // (10 accesses per entry, TinyLFU's recommendation).
  explicit FrequencySketch(size_t expectedEntries);

  void increment(uint64_t hash);
  uint32_t estimate(uint64_t hash) const;

  size_t memoryBytes() const { return words_.size() * sizeof(uint64_t); }
  uint64_t resets() const { return resets_; }
  size_t sampleSize() const { return sampleSize_; }

 private:
  static constexpr int kRows = 4;
  size_t counterIndex(uint64_t hash, int row) const;
  uint32_t counterAt(size_t index) const;
  void halve();

  std::vector<uint64_t> words_;  // kRows rows of rowCounters_ 4-bit counters, 16 per word
  size_t rowCounters_ = 0;       // a power of two
  size_t sampleSize_ = 0;
  size_t additions_ = 0;
  uint64_t resets_ = 0;
};

}  // namespace cache
