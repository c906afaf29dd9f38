// replicaShards (proxy/server/hot_replicas.h): where hot-key copies go. Pure; checked for
// the rules the CacheHub and the workers rely on to agree: never the owner, never a
// draining shard, distinct, stable, and spread evenly over the other shards.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "proxy/server/hot_replicas.h"

namespace {
using routing::HashRing;
using routing::ShardSpec;

std::shared_ptr<const HashRing> ring(std::vector<ShardSpec> shards) {
  std::string error;
  auto r = HashRing::build(std::move(shards), routing::RingOptions{}, &error);
  REQUIRE(r);
  return r;
}
}  // namespace

TEST_CASE("replicas: distinct shards other than the owner, as many as asked", "[replicas]") {
  auto r = ring({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}});
  for (int i = 0; i < 500; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const uint32_t owner = r->ownerOf(key);
    for (size_t n : {0u, 1u, 2u, 4u, 9u}) {
      const std::vector<uint32_t> copies = proxy::replicaShards(*r, key, owner, n);
      CHECK(copies.size() == std::min<size_t>(n, 4));
      const std::set<uint32_t> distinct(copies.begin(), copies.end());
      CHECK(distinct.size() == copies.size());
      CHECK(distinct.count(owner) == 0);
    }
  }
}

TEST_CASE("replicas: a draining shard (weight 0) never holds a copy", "[replicas]") {
  auto r = ring({{"a", 1}, {"b", 0}, {"c", 1}, {"d", 1}});
  for (int i = 0; i < 300; ++i) {
    const std::string key = "k" + std::to_string(i);
    for (uint32_t c : proxy::replicaShards(*r, key, r->ownerOf(key), 3)) CHECK(r->shards()[c].name != "b");
  }
}

TEST_CASE("replicas: the choice depends only on the key and the shard names", "[replicas]") {
  auto one = ring({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}});
  auto two = ring({{"a", 3}, {"b", 1}, {"c", 2}, {"d", 1}});  // other weights, same names
  for (int i = 0; i < 200; ++i) {
    const std::string key = "user:" + std::to_string(i);
    const uint32_t owner = one->ownerOf(key);
    CHECK(proxy::replicaShards(*one, key, owner, 2) == proxy::replicaShards(*two, key, owner, 2));
  }
  // Golden (computed independently: fmix64 of FNV-1a 64 of "hot\0<name>", ascending): the order is
  // part of the contract between proxy versions running side by side, since a reader
  // must find the copies another instance wrote.
  CHECK(proxy::replicaShards(*one, "hot", 0, 3) == std::vector<uint32_t>{3, 2, 1});
  // Copies are per instance: "__ringproxy:hot:<16 hex digits>:<key>", the same all along.
  const std::string name = proxy::copyKey("hot");
  REQUIRE(name.size() == std::string("__ringproxy:hot:").size() + 16 + 4);
  CHECK(name.rfind("__ringproxy:hot:", 0) == 0);
  CHECK(name.substr(name.size() - 4) == ":hot");
  CHECK(proxy::copyKey("hot") == name);
}

TEST_CASE("replicas: copies spread evenly over the shards", "[replicas]") {
  auto r = ring({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}, {"f", 1}});
  std::map<uint32_t, int> load;
  const int keys = 30000;
  for (int i = 0; i < keys; ++i) {
    const std::string key = "key:" + std::to_string(i);
    for (uint32_t c : proxy::replicaShards(*r, key, r->ownerOf(key), 2)) ++load[c];
  }
  const double even = 2.0 * keys / 6;
  for (const auto& [shard, n] : load) {
    INFO("shard " << r->shards()[shard].name << " holds " << n << " copies, even share " << even);
    CHECK(std::abs(n - even) < even * 0.05);
  }
}
