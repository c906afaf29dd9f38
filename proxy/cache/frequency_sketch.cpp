// FrequencySketch: packed 4-bit count-min counters with periodic halving (see the header).
// Called by: L1Cache's admission decision.
#include "proxy/cache/frequency_sketch.h"

#include <algorithm>

#include "routing/hash_fn.h"
#include <bit>

namespace cache {
namespace {

// splitmix64 (routing/hash_fn.h): independent-looking indexes from one 64-bit hash.
using routing::mix64;

constexpr uint64_t kRowSeeds[4] = {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL,
                                   0x165667b19e3779f9ULL, 0x27d4eb2f165667c5ULL};
// Keeps the low three bits of every nibble after a right shift: halves 16 counters at once.
constexpr uint64_t kHalfMask = 0x7777777777777777ULL;
constexpr uint32_t kMaxCount = 15;

}  // namespace

FrequencySketch::FrequencySketch(size_t expectedEntries) {
  size_t entries = std::max<size_t>(expectedEntries, 16);
  rowCounters_ = std::bit_ceil(entries * 4);
  words_.assign(kRows * rowCounters_ / 16, 0);
  sampleSize_ = 10 * entries;
}

size_t FrequencySketch::counterIndex(uint64_t hash, int row) const {
  size_t inRow = static_cast<size_t>(mix64(hash + kRowSeeds[row])) & (rowCounters_ - 1);
  return static_cast<size_t>(row) * rowCounters_ + inRow;
}

uint32_t FrequencySketch::counterAt(size_t index) const {
  return static_cast<uint32_t>((words_[index / 16] >> ((index % 16) * 4)) & 0xF);
}

void FrequencySketch::increment(uint64_t hash) {
  bool added = false;
  for (int row = 0; row < kRows; ++row) {
    size_t index = counterIndex(hash, row);
    if (counterAt(index) < kMaxCount) {
      words_[index / 16] += uint64_t{1} << ((index % 16) * 4);
      added = true;
    }
  }
  // Saturated keys don't advance the clock: otherwise one very hot key would age everyone.
  if (added && ++additions_ >= sampleSize_) halve();
}

uint32_t FrequencySketch::estimate(uint64_t hash) const {
  uint32_t best = kMaxCount;
  for (int row = 0; row < kRows; ++row) best = std::min(best, counterAt(counterIndex(hash, row)));
  return best;
}

void FrequencySketch::halve() {
  for (uint64_t& word : words_) word = (word >> 1) & kHalfMask;
  additions_ /= 2;
  ++resets_;
}

}  // namespace cache
