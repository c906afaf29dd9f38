// HashRing construction and lookup (routing/hash_ring.h): validation, the vnode ring, the
// twemproxy-identical ketama continuum, and the ring digest.
// Called by: the proxy at start-up and on config reload (build), every worker per key
// (ownerOf), config reload to detect "ring unchanged" (digest).
#include "routing/hash_ring.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "routing/hash_tag.h"

namespace routing {
namespace {

// Bounds memory (16 bytes a point) and build time of a ring a typo could make huge.
constexpr uint64_t kMaxPoints = uint64_t{1} << 24;
constexpr uint32_t kMaxVnodesPerWeight = 65536;
// nc_ketama.c: KETAMA_POINTS_PER_SERVER, 4 points per md5 digest.
constexpr uint32_t kKetamaPointsPerServer = 160;
constexpr uint32_t kKetamaPointsPerHash = 4;
// nc_ketama.c formats "<name>-<i>" into char[86] but hashes snprintf's untruncated
// length, so longer host strings would hash bytes twemproxy never wrote: refuse them.
constexpr size_t kKetamaMaxHostLen = 85;

bool fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

size_t decimalDigits(uint32_t n) {
  size_t digits = 1;
  while (n >= 10) {
    n /= 10;
    ++digits;
  }
  return digits;
}

// nc_ketama.c's points-per-server, with its exact mix of float and double arithmetic
// (float ratio and products, the 1e-10 nudge added in double, floorf of the float), so
// rounding at the edges agrees with nutcracker for every weight combination.
uint32_t ketamaPointsFor(uint32_t weight, uint32_t totalWeight, uint32_t liveShards) {
  const float pct = static_cast<float>(weight) / static_cast<float>(totalWeight);
  const float perHashGroups =
      pct * static_cast<float>(kKetamaPointsPerServer) / 4.0f * static_cast<float>(liveShards);
  const float nudged = static_cast<float>(static_cast<double>(perHashGroups) + 0.0000000001);
  return static_cast<uint32_t>(std::floor(nudged) * 4.0f);
}

uint32_t littleEndianWord(const unsigned char* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

bool pointLess(const HashRing::Point& a, const HashRing::Point& b) {
  return a.value != b.value ? a.value < b.value : a.shard < b.shard;
}


bool validateShards(const std::vector<ShardSpec>& shards, std::string* error) {
  if (shards.empty()) return fail(error, "ring needs at least one shard");
  std::unordered_set<std::string_view> names;
  uint64_t totalWeight = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    const ShardSpec& shard = shards[i];
    if (shard.name.empty()) {
      return fail(error, "shard #" + std::to_string(i) + " has an empty name");
    }
    if (!names.insert(shard.name).second) {
      return fail(error, "duplicate shard name '" + shard.name + "'");
    }
    totalWeight += shard.weight;
  }
  if (totalWeight == 0) return fail(error, "every shard has weight 0; at least one must be > 0");
  // twemproxy sums weights in a uint32_t; beyond that ketama could not match it anyway.
  if (totalWeight > std::numeric_limits<uint32_t>::max()) {
    return fail(error, "total shard weight " + std::to_string(totalWeight) + " exceeds 2^32-1");
  }
  return true;
}

bool validateVnodes(const std::vector<ShardSpec>& shards, const RingOptions& options,
                    std::string* error) {
  if (options.vnodesPerWeight < 1 || options.vnodesPerWeight > kMaxVnodesPerWeight) {
    return fail(error, "vnodes per weight must be in 1.." + std::to_string(kMaxVnodesPerWeight) +
                           ", got " + std::to_string(options.vnodesPerWeight));
  }
  uint64_t points = 0;
  for (const ShardSpec& shard : shards) points += uint64_t{shard.weight} * options.vnodesPerWeight;
  if (points > kMaxPoints) {
    return fail(error, "ring would have " + std::to_string(points) + " points, more than the " +
                           std::to_string(kMaxPoints) + " allowed; lower weights or vnodes");
  }
  return true;
}

bool validateKetama(const std::vector<ShardSpec>& shards, std::string* error) {
  uint32_t live = 0;
  uint32_t totalWeight = 0;
  for (const ShardSpec& shard : shards) {
    if (shard.weight == 0) continue;
    ++live;
    totalWeight += shard.weight;
  }
  if (uint64_t{live} * kKetamaPointsPerServer > kMaxPoints) {
    return fail(error, "too many shards for a ketama ring: " + std::to_string(live));
  }
  for (const ShardSpec& shard : shards) {
    if (shard.weight == 0) continue;
    const uint32_t hashes = ketamaPointsFor(shard.weight, totalWeight, live) / kKetamaPointsPerHash;
    if (hashes == 0) continue;
    if (shard.name.size() + 1 + decimalDigits(hashes - 1) > kKetamaMaxHostLen) {
      const std::string limit = std::to_string(kKetamaMaxHostLen);
      return fail(error, "shard name '" + shard.name + "' is too long for ketama (twemproxy " +
                             "hashes at most " + limit + " bytes of \"<name>-<i>\")");
    }
  }
  return true;
}

bool validate(const std::vector<ShardSpec>& shards, const RingOptions& options,
              std::string* error) {
  if (!validateShards(shards, error)) return false;
  if (!options.hashTag.empty() && options.hashTag.size() != 2) {
    return fail(error,
                "hash tag must be empty or exactly two characters, got '" + options.hashTag + "'");
  }
  if (options.distribution == Distribution::Vnodes) return validateVnodes(shards, options, error);
  return validateKetama(shards, error);
}

void appendField(std::string& out, std::string_view value) {
  // Length-prefixed so names containing separators cannot collide with other layouts.
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += ';';
}

uint64_t ringDigest(const std::vector<ShardSpec>& shards, const RingOptions& options) {
  std::string canonical = "ringproxy-ring-v1;";
  appendField(canonical, options.distribution == Distribution::Vnodes ? "vnodes" : "ketama");
  appendField(canonical, hashKindName(options.hash));
  appendField(canonical, options.hashTag);
  appendField(canonical, std::to_string(options.vnodesPerWeight));
  for (const ShardSpec& shard : shards) {
    appendField(canonical, shard.name);
    appendField(canonical, std::to_string(shard.weight));
  }
  return fnv1a64(canonical);
}

}  // namespace

std::shared_ptr<const HashRing> HashRing::build(std::vector<ShardSpec> shards, RingOptions options,
                                                std::string* error) {
  if (!validate(shards, options, error)) return nullptr;
  std::shared_ptr<HashRing> ring(new HashRing());
  ring->digest_ = ringDigest(shards, options);
  ring->shards_ = std::move(shards);
  ring->options_ = std::move(options);
  if (ring->options_.distribution == Distribution::Vnodes) {
    ring->buildVnodes();
  } else {
    ring->buildKetama();
  }
  ring->buildIndex();
  return ring;
}

void HashRing::buildVnodes() {
  uint64_t total = 0;
  for (const ShardSpec& shard : shards_) total += uint64_t{shard.weight} * options_.vnodesPerWeight;
  points_.reserve(total);
  std::string pointName;
  for (uint32_t s = 0; s < shards_.size(); ++s) {
    const uint64_t count = uint64_t{shards_[s].weight} * options_.vnodesPerWeight;
    pointName = shards_[s].name + "#";
    const size_t prefixLen = pointName.size();
    for (uint64_t i = 0; i < count; ++i) {
      char digits[24];
      const auto res = std::to_chars(digits, digits + sizeof(digits), i);
      pointName.resize(prefixLen);
      pointName.append(digits, res.ptr);
      points_.push_back(Point{mix64(fnv1a64(pointName)), s});
    }
  }
  // Shard index breaks value ties so every process builds the identical ring.
  std::sort(points_.begin(), points_.end(), pointLess);
}

void HashRing::buildKetama() {
  // Weight-0 shards play the part of twemproxy's ejected servers: not counted as live,
  // no weight, no points.
  uint32_t live = 0;
  uint32_t totalWeight = 0;
  for (const ShardSpec& shard : shards_) {
    if (shard.weight == 0) continue;
    ++live;
    totalWeight += shard.weight;
  }
  points_.reserve(uint64_t{live} * kKetamaPointsPerServer);
  for (uint32_t s = 0; s < shards_.size(); ++s) {
    if (shards_[s].weight == 0) continue;
    const uint32_t hashes =
        ketamaPointsFor(shards_[s].weight, totalWeight, live) / kKetamaPointsPerHash;
    for (uint32_t i = 0; i < hashes; ++i) {
      unsigned char digest[16];
      md5(shards_[s].name + "-" + std::to_string(i), digest);
      for (uint32_t x = 0; x < kKetamaPointsPerHash; ++x) {
        points_.push_back(Point{littleEndianWord(digest + 4 * x), s});
      }
    }
  }
  // twemproxy qsorts by value only; glibc's qsort is a merge sort for arrays this small,
  // so equal values keep server order, which (value, shard) reproduces.
  std::sort(points_.begin(), points_.end(), pointLess);
}

uint32_t HashRing::ownerOf(std::string_view key) const {
  return ownerOfRoutingKey(routingKey(key, options_.hashTag));
}

uint32_t HashRing::ownerOfRoutingKey(std::string_view routingKey) const {
  if (options_.distribution == Distribution::Ketama) {
    // server_pool_hash: an empty key is not hashed, it lands at position 0.
    const uint32_t hash = routingKey.empty() ? 0 : twemproxyHash(options_.hash, routingKey);
    return ownerAt(hash);
  }
  const uint64_t hash = options_.hash == HashKind::Fnv1a64
                            ? fnv1a64(routingKey)
                            : uint64_t{twemproxyHash(options_.hash, routingKey)};
  return ownerAt(mix64(hash));
}

void HashRing::buildIndex() {
  // Ketama positions are 32-bit, ours 64-bit: the index uses the top 16 bits of either.
  indexShift_ = options_.distribution == Distribution::Ketama ? 16 : 48;
  constexpr size_t kBuckets = size_t{1} << 16;
  index_.assign(kBuckets + 1, static_cast<uint32_t>(points_.size()));
  size_t p = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    while (p < points_.size() && (points_[p].value >> indexShift_) < b) ++p;
    index_[b] = static_cast<uint32_t>(p);
  }
}

// First point at or after `position`, wrapping past the top of the circle.
uint32_t HashRing::ownerAt(uint64_t position) const {
  const size_t bucket = static_cast<size_t>(position >> indexShift_);
  auto first = points_.begin() + index_[bucket];
  auto last = points_.begin() + index_[bucket + 1];
  auto it = std::lower_bound(first, last, position,
                             [](const Point& pt, uint64_t v) { return pt.value < v; });
  if (it == points_.end()) it = points_.begin();
  return it->shard;
}

}  // namespace routing
