// Statistical properties of HashRing over 1,000,000 deterministic keys ("key:<n>", n from
// splitmix64; 250,000 for ketama): vnode balance, minimal movement on adding/removing a shard,
// weights. These are the promises resharding relies on: a new shard only takes keys, a removed
// shard only gives its own. Ketama numbers are informative (160 points a server is
// coarser), but its determinism and weight handling are checked.
#include <catch2/catch.hpp>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "routing/hash_ring.h"

using routing::Distribution;
using routing::HashKind;
using routing::HashRing;
using routing::RingOptions;
using routing::ShardSpec;

namespace {

constexpr size_t kKeys = 1'000'000;
// Ketama checks are informative, so they sample fewer keys to keep the suite fast.
constexpr size_t kKetamaKeys = 250'000;

// Calls f(key) for the same first `count` keys on every call.
template <typename F>
void forEachKey(F&& f, size_t count = kKeys) {
  uint64_t state = 0x5eed;
  char buf[32] = {'k', 'e', 'y', ':'};
  for (size_t i = 0; i < count; ++i) {
    state += 0x9e3779b97f4a7c15ULL;
    const auto end = std::to_chars(buf + 4, buf + sizeof(buf), routing::mix64(state)).ptr;
    f(std::string_view(buf, static_cast<size_t>(end - buf)));
  }
}

std::vector<ShardSpec> equalShards(int n) {
  std::vector<ShardSpec> shards;
  for (int i = 0; i < n; ++i) shards.push_back({"shard-" + std::to_string(i), 1});
  return shards;
}

std::shared_ptr<const HashRing> mustBuild(std::vector<ShardSpec> shards, RingOptions options = {}) {
  std::string error;
  auto ring = HashRing::build(std::move(shards), std::move(options), &error);
  INFO(error);
  REQUIRE(ring);
  return ring;
}

std::vector<size_t> countOwners(const HashRing& ring, size_t keys = kKeys) {
  std::vector<size_t> counts(ring.shards().size(), 0);
  forEachKey([&](std::string_view key) { ++counts[ring.ownerOf(key)]; }, keys);
  return counts;
}

RingOptions ketamaOptions() {
  RingOptions options;
  options.distribution = Distribution::Ketama;
  options.hash = HashKind::Fnv1a64;
  return options;
}

}  // namespace

TEST_CASE("vnodes: 4 equal shards are each within 5% of the mean", "[routing][stats]") {
  const auto counts = countOwners(*mustBuild(equalShards(4)));
  const double mean = static_cast<double>(kKeys) / 4;
  for (size_t c : counts) {
    INFO("count " << c << " mean " << mean);
    CHECK(static_cast<double>(c) > mean * 0.95);
    CHECK(static_cast<double>(c) < mean * 1.05);
  }
}

TEST_CASE("vnodes: adding a 5th shard moves ~20% of keys, all to the new shard",
          "[routing][stats]") {
  auto four = mustBuild(equalShards(4));
  auto five = mustBuild(equalShards(5));  // same first four names and indices
  size_t moved = 0;
  size_t movedBetweenOld = 0;
  forEachKey([&](std::string_view key) {
    const uint32_t before = four->ownerOf(key);
    const uint32_t after = five->ownerOf(key);
    if (before == after) return;
    ++moved;
    if (after != 4) ++movedBetweenOld;
  });
  const double fraction = static_cast<double>(moved) / kKeys;
  INFO("moved fraction " << fraction);
  CHECK(fraction > 0.18);
  CHECK(fraction < 0.22);
  CHECK(movedBetweenOld == 0);
}

TEST_CASE("vnodes: removing a shard moves only that shard's keys", "[routing][stats]") {
  auto four = mustBuild(equalShards(4));
  auto three = mustBuild({{"shard-0", 1}, {"shard-2", 1}, {"shard-3", 1}});
  const uint32_t oldIndexOf[] = {0, 2, 3};  // index in `four` of each shard of `three`
  size_t removedShardKeys = 0;
  size_t moved = 0;
  size_t movedElsewhere = 0;
  forEachKey([&](std::string_view key) {
    const uint32_t before = four->ownerOf(key);
    const uint32_t after = oldIndexOf[three->ownerOf(key)];
    if (before == 1) ++removedShardKeys;
    if (before == after) return;
    ++moved;
    if (before != 1) ++movedElsewhere;
  });
  CHECK(moved == removedShardKeys);
  CHECK(movedElsewhere == 0);
}

TEST_CASE("vnodes: weights are honoured", "[routing][stats]") {
  const auto counts = countOwners(*mustBuild({{"light-a", 1}, {"heavy", 2}, {"light-b", 1}}));
  const double heavyShare = static_cast<double>(counts[1]) / kKeys;
  INFO("heavy share " << heavyShare);
  CHECK(heavyShare > 0.475);
  CHECK(heavyShare < 0.525);
  CHECK(static_cast<double>(counts[1]) / counts[0] > 1.8);
  CHECK(static_cast<double>(counts[1]) / counts[2] > 1.8);
}

TEST_CASE("ketama: deterministic, roughly even, weights roughly honoured", "[routing][stats]") {
  auto first = mustBuild(equalShards(4), ketamaOptions());
  auto second = mustBuild(equalShards(4), ketamaOptions());
  std::vector<size_t> counts(4, 0);
  size_t disagreements = 0;
  forEachKey(
      [&](std::string_view key) {
        const uint32_t owner = first->ownerOf(key);
        ++counts[owner];
        if (second->ownerOf(key) != owner) ++disagreements;
      },
      kKetamaKeys);
  CHECK(disagreements == 0);
  const double mean = static_cast<double>(kKetamaKeys) / 4;
  for (size_t c : counts) {
    INFO("ketama count " << c << " mean " << mean);
    CHECK(static_cast<double>(c) > mean * 0.75);
    CHECK(static_cast<double>(c) < mean * 1.25);
  }

  const auto weighted = countOwners(
      *mustBuild({{"light-a", 1}, {"heavy", 2}, {"light-b", 1}}, ketamaOptions()), kKetamaKeys);
  const double ratio = static_cast<double>(weighted[1]) / ((weighted[0] + weighted[2]) / 2.0);
  INFO("ketama heavy/light ratio " << ratio);
  CHECK(ratio > 1.5);
  CHECK(ratio < 2.5);
}

TEST_CASE("ketama: adding an equal-weight shard moves keys only to it", "[routing][stats]") {
  // With equal weights every server keeps its 160 points, so old points do not move.
  auto four = mustBuild(equalShards(4), ketamaOptions());
  auto five = mustBuild(equalShards(5), ketamaOptions());
  size_t movedBetweenOld = 0;
  forEachKey(
      [&](std::string_view key) {
        const uint32_t after = five->ownerOf(key);
        if (after != 4 && after != four->ownerOf(key)) ++movedBetweenOld;
      },
      kKetamaKeys);
  CHECK(movedBetweenOld == 0);
}
