// Where the copies of a hot key live (hot_key_replication, design §6): rendezvous hashing
// (FNV-1a then fmix64) of (key, shard name) over the ring's shards with weight > 0, the key's owner excluded.
// Pure; the same answer on every worker and in the CacheHub for the same ring.
// Called by: ClientSession (spreading reads), CacheHub (writing and deleting copies).
#pragma once

#include <algorithm>
#include <cstdio>
#include <random>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "routing/hash_ring.h"

namespace proxy {

inline constexpr std::string_view kCopyPrefix = "__ringproxy:hot:";

// Each process writes and reads only its own copies: another proxy instance's write gate
// (beginWrite/endWrite) cannot protect copies it does not know, and one instance's refill
// must not put back a value that another instance's acknowledged write replaced. Copies
// of an instance that stops expire after hot_key_replication.ttl_ms.
inline const std::string& copyInstanceTag() {
  static const std::string tag = [] {
    std::random_device random;
    char text[17];
    std::snprintf(text, sizeof text, "%08x%08x", random(), random());
    return std::string(text);
  }();
  return tag;
}

// "__ringproxy:hot:<instance tag>:<key>".
inline std::string copyKey(std::string_view key) {
  std::string k(kCopyPrefix);
  k.append(copyInstanceTag());
  k += ':';
  k.append(key);
  return k;
}

inline std::vector<uint32_t> replicaShards(const routing::HashRing& ring, std::string_view key, uint32_t owner,
                                           size_t replicas) {
  std::vector<std::pair<uint64_t, uint32_t>> scored;
  const auto& shards = ring.shards();
  for (uint32_t s = 0; s < shards.size(); ++s) {
    if (s == owner || shards[s].weight == 0) continue;
    // FNV-1a over key, a separator, and the shard name: stable across processes.
    uint64_t h = 1469598103934665603ull;
    const auto mix = [&h](std::string_view bytes) {
      for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
    };
    mix(key);
    mix(std::string_view("\0", 1));
    mix(shards[s].name);
    // MurmurHash3's fmix64: FNV-1a's last byte barely moves the high bits, and names
    // like s1, s2, s3 differ only there; without it copies pile up on some shards.
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    scored.emplace_back(h, s);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<uint32_t> out;
  for (size_t i = 0; i < scored.size() && i < replicas; ++i) out.push_back(scored[i].second);
  return out;
}

}  // namespace proxy
