// HashRing: an immutable weighted consistent-hash ring, key -> shard index.
// Owns: the sorted point array of one ring version. Pure: no I/O, no clocks, no locks.
// Built by: the proxy at start-up and on reload; read concurrently by every worker
// through shared_ptr<const HashRing>. Two distributions:
//   - Vnodes (ours): each shard gets `vnodesPerWeight * weight` points on a 64-bit circle,
//     placed by fnv1a64("<name>#<i>") mixed; keys placed by mix64(hash(key)). Adding a shard
//     only takes keys from others; nothing moves between old shards.
//   - Ketama: twemproxy's continuum bit for bit (160 points per server scaled by weight,
//     md5("<name>-<i>") 4 points per digest, 32-bit key hash, same binary search), so a
//     twemproxy user switches with no data movement.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "routing/hash_fn.h"

namespace routing {

enum class Distribution { Vnodes, Ketama };

struct ShardSpec {
  std::string name;     // identity on the ring (an address can change without moving keys)
  uint32_t weight = 1;  // 0 = present but owns nothing (draining)
};

struct RingOptions {
  Distribution distribution = Distribution::Vnodes;
  HashKind hash = HashKind::Fnv1a64;
  std::string hashTag = "{}";          // two chars, or empty for none
  uint32_t vnodesPerWeight = 1024;     // vnodes only
};

class HashRing {
 public:
  // At least one shard with weight > 0 is required; names must be unique.
  // Returns nullptr and sets *error when the input is invalid.
  static std::shared_ptr<const HashRing> build(std::vector<ShardSpec> shards, RingOptions options,
                                               std::string* error = nullptr);

  // Index into shards() of the owner of `key` (hash tag applied).
  uint32_t ownerOf(std::string_view key) const;
  // The same for a key whose routing part was already extracted.
  uint32_t ownerOfRoutingKey(std::string_view routingKey) const;

  const std::vector<ShardSpec>& shards() const { return shards_; }
  const RingOptions& options() const { return options_; }
  size_t pointCount() const { return points_.size(); }
  // Stable digest of options + shards (names, weights): equal rings have equal digests.
  uint64_t digest() const { return digest_; }

  struct Point {
    uint64_t value;
    uint32_t shard;
  };

 private:
  HashRing() = default;
  void buildVnodes();
  void buildKetama();
  void buildIndex();
  uint32_t ownerAt(uint64_t position) const;

  std::vector<ShardSpec> shards_;
  RingOptions options_;
  std::vector<Point> points_;  // sorted by value
  // index_[b] = first point whose top 16 bits are >= b: a lookup searches one bucket of a
  // few points instead of the whole ring (10 keys of an MGET are 10 lookups).
  std::vector<uint32_t> index_;
  unsigned indexShift_ = 48;
  uint64_t digest_ = 0;
};

}  // namespace routing
