// Tests for cache::FrequencySketch: estimates never under-count between resets, counters
// saturate at 15, and aging halves every counter after sampleSize increments.
#include <catch2/catch.hpp>

#include <cstdint>

#include "proxy/cache/frequency_sketch.h"

using cache::FrequencySketch;

TEST_CASE("estimates count increments exactly while the sketch is sparse", "[sketch]") {
  FrequencySketch sketch(1024);
  for (int i = 0; i < 5; ++i) sketch.increment(111);
  for (int i = 0; i < 2; ++i) sketch.increment(222);
  CHECK(sketch.estimate(111) == 5);
  CHECK(sketch.estimate(222) == 2);
  CHECK(sketch.estimate(333) == 0);
}

TEST_CASE("estimates never under-count and saturate at 15", "[sketch]") {
  FrequencySketch sketch(64);  // small: collisions are likely, under-counts must not be
  for (uint64_t key = 0; key < 200; ++key) {
    for (uint64_t n = 0; n <= key % 4; ++n) sketch.increment(key * 0x9e3779b97f4a7c15ULL);
  }
  REQUIRE(sketch.resets() == 0);
  for (uint64_t key = 0; key < 200; ++key) {
    CHECK(sketch.estimate(key * 0x9e3779b97f4a7c15ULL) >= key % 4 + 1);
  }
  for (int i = 0; i < 40; ++i) sketch.increment(7);
  CHECK(sketch.estimate(7) == 15);
}

TEST_CASE("aging halves every counter after sampleSize increments", "[sketch]") {
  FrequencySketch sketch(16);
  REQUIRE(sketch.sampleSize() == 160);
  for (int i = 0; i < 12; ++i) sketch.increment(42);
  REQUIRE(sketch.estimate(42) >= 12);
  // Distinct keys push the sample clock; collisions may lift 42's counters up to 15 first,
  // so after one halving each is in [12/2, 15/2].
  uint64_t key = 1000;
  while (sketch.resets() == 0) sketch.increment(++key * 0xc2b2ae3d27d4eb4fULL);
  CHECK(sketch.estimate(42) >= 6);
  CHECK(sketch.estimate(42) <= 7);
  CHECK(sketch.memoryBytes() == 4 * 64 / 2);  // 4 rows x 64 counters x 4 bits
}
