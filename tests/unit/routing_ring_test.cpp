// HashRing (routing/hash_ring.h): validation, digest, golden owners for both
// distributions, and ketama placements observed from a real nutcracker 0.5.0.
// Statistical properties (balance, movement) live in routing_stats_test.cpp.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "routing/hash_ring.h"

using routing::Distribution;
using routing::HashKind;
using routing::HashRing;
using routing::RingOptions;
using routing::ShardSpec;

namespace {

RingOptions ketama(HashKind hash, std::string tag) {
  RingOptions options;
  options.distribution = Distribution::Ketama;
  options.hash = hash;
  options.hashTag = std::move(tag);
  return options;
}

std::shared_ptr<const HashRing> mustBuild(std::vector<ShardSpec> shards, RingOptions options) {
  std::string error;
  auto ring = HashRing::build(std::move(shards), std::move(options), &error);
  INFO(error);
  REQUIRE(ring);
  return ring;
}

std::string buildError(std::vector<ShardSpec> shards, RingOptions options) {
  std::string error;
  auto ring = HashRing::build(std::move(shards), std::move(options), &error);
  CHECK_FALSE(ring);
  CHECK_FALSE(error.empty());
  return error;
}

struct Placement {
  std::string key;
  uint32_t shard;
};

void checkPlacements(const HashRing& ring, const std::vector<Placement>& placements) {
  for (const Placement& p : placements) {
    INFO("key index " << (&p - placements.data()));
    CHECK(ring.ownerOf(p.key) == p.shard);
  }
}

// The servers of the nutcracker pools the placements below were observed from:
//   - 127.0.0.1:27001:1 alpha / 127.0.0.1:27002:2 beta-node / 127.0.0.1:27003:3 gamma
const std::vector<ShardSpec> kThreeShards = {{"alpha", 1}, {"beta-node", 2}, {"gamma", 3}};

}  // namespace

TEST_CASE("build rejects invalid input with a message", "[routing][ring]") {
  RingOptions options;
  CHECK_THAT(buildError({}, options), Catch::Contains("at least one shard"));
  CHECK_THAT(buildError({{"a", 1}, {"", 1}}, options), Catch::Contains("empty name"));
  CHECK_THAT(buildError({{"a", 1}, {"b", 1}, {"a", 2}}, options), Catch::Contains("duplicate"));
  CHECK_THAT(buildError({{"a", 0}, {"b", 0}}, options), Catch::Contains("weight 0"));
  CHECK_THAT(buildError({{"a", 0xffffffffu}, {"b", 1}}, ketama(HashKind::Md5, "")),
             Catch::Contains("total shard weight"));

  RingOptions badTag;
  badTag.hashTag = "{";
  CHECK_THAT(buildError({{"a", 1}}, badTag), Catch::Contains("hash tag"));
  badTag.hashTag = "{}}";
  CHECK_THAT(buildError({{"a", 1}}, badTag), Catch::Contains("hash tag"));

  RingOptions vnodes;
  vnodes.vnodesPerWeight = 0;
  CHECK_THAT(buildError({{"a", 1}}, vnodes), Catch::Contains("vnodes per weight"));
  vnodes.vnodesPerWeight = 65537;
  CHECK_THAT(buildError({{"a", 1}}, vnodes), Catch::Contains("vnodes per weight"));
  vnodes.vnodesPerWeight = 65536;
  CHECK_THAT(buildError({{"a", 200}, {"b", 57}}, vnodes), Catch::Contains("points"));

  // Without an error sink build still fails cleanly.
  CHECK_FALSE(HashRing::build({}, RingOptions{}));
}

TEST_CASE("ketama refuses names twemproxy would truncate", "[routing][ring]") {
  // 160 points -> hosts "<name>-0" .. "<name>-39": 82 + 1 + 2 = 85 bytes is the limit.
  CHECK(HashRing::build({{std::string(82, 'n'), 1}}, ketama(HashKind::Md5, "")));
  CHECK(HashRing::build({{std::string(83, 'n'), 1}}, ketama(HashKind::Md5, "")) == nullptr);
  // Vnodes has no such limit.
  CHECK(HashRing::build({{std::string(300, 'n'), 1}}, RingOptions{}));
}

TEST_CASE("accessors reflect the build input", "[routing][ring]") {
  auto ring = mustBuild({{"a", 1}, {"b", 3}}, RingOptions{});
  REQUIRE(ring->shards().size() == 2);
  CHECK(ring->shards()[1].name == "b");
  CHECK(ring->shards()[1].weight == 3);
  CHECK(ring->options().distribution == Distribution::Vnodes);
  CHECK(ring->pointCount() == 4 * 1024);
}

TEST_CASE("digest is stable and sensitive to every ring input", "[routing][ring]") {
  const std::vector<ShardSpec> shards = {{"a", 1}, {"b", 2}};
  const uint64_t base = mustBuild(shards, RingOptions{})->digest();
  CHECK(mustBuild(shards, RingOptions{})->digest() == base);
  // Pinned: a digest change means every running proxy sees a "different" ring on reload.
  CHECK(base == 0x4a4324e69d97d2aaULL);

  CHECK(mustBuild({{"b", 2}, {"a", 1}}, RingOptions{})->digest() != base);
  CHECK(mustBuild({{"a", 1}, {"b", 3}}, RingOptions{})->digest() != base);
  CHECK(mustBuild({{"a", 1}, {"c", 2}}, RingOptions{})->digest() != base);
  CHECK(mustBuild({{"a", 1}, {"b", 2}, {"c", 0}}, RingOptions{})->digest() != base);
  RingOptions options;
  options.hash = HashKind::Murmur;
  CHECK(mustBuild(shards, options)->digest() != base);
  options = RingOptions{};
  options.hashTag = "";
  CHECK(mustBuild(shards, options)->digest() != base);
  options = RingOptions{};
  options.vnodesPerWeight = 512;
  CHECK(mustBuild(shards, options)->digest() != base);
  CHECK(mustBuild(shards, ketama(HashKind::Fnv1a64, "{}"))->digest() != base);
  // Name/weight boundaries cannot be shifted to fake the same canonical text.
  CHECK(mustBuild({{"a1", 1}}, RingOptions{})->digest() !=
        mustBuild({{"a", 11}}, RingOptions{})->digest());
}

TEST_CASE("ownerOf applies the hash tag, ownerOfRoutingKey does not", "[routing][ring]") {
  auto ring = mustBuild({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}}, RingOptions{});
  for (int i = 0; i < 200; ++i) {
    const std::string tag = "user" + std::to_string(i);
    const uint32_t owner = ring->ownerOfRoutingKey(tag);
    CHECK(ring->ownerOf("{" + tag + "}.following") == owner);
    CHECK(ring->ownerOf("profile:{" + tag + "}") == owner);
  }
  RingOptions untagged;
  untagged.hashTag = "";
  auto plain = mustBuild({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}}, untagged);
  CHECK(plain->ownerOf("{x}y") == plain->ownerOfRoutingKey("{x}y"));
}

TEST_CASE("a single shard owns everything and weight 0 shards own nothing", "[routing][ring]") {
  for (auto options : {RingOptions{}, ketama(HashKind::Fnv1a64, "{}")}) {
    auto single = mustBuild({{"only", 1}}, options);
    auto draining = mustBuild({{"a", 1}, {"gone", 0}, {"b", 2}}, options);
    for (int i = 0; i < 5000; ++i) {
      std::string key = "k";  // not "k" + ...: GCC 12 warns falsely (-Wrestrict) there
      key += std::to_string(i);
      CHECK(single->ownerOf(key) == 0);
      CHECK(draining->ownerOf(key) != 1);
    }
  }
}

TEST_CASE("ketama with a weight-0 shard equals twemproxy with that server ejected",
          "[routing][ring]") {
  auto withDrained = mustBuild({{"alpha", 1}, {"zero", 0}, {"beta-node", 2}, {"gamma", 3}},
                               ketama(HashKind::Md5, ""));
  auto without = mustBuild(kThreeShards, ketama(HashKind::Md5, ""));
  CHECK(withDrained->pointCount() == without->pointCount());
  for (int i = 0; i < 5000; ++i) {
    const std::string key = "key:" + std::to_string(i);
    CHECK(withDrained->shards()[withDrained->ownerOf(key)].name ==
          without->shards()[without->ownerOf(key)].name);
  }
}

TEST_CASE("ketama point counts follow twemproxy's float arithmetic", "[routing][ring]") {
  // Equal weights: exactly 160 points a server.
  CHECK(mustBuild({{"a", 1}, {"b", 1}, {"c", 1}}, ketama(HashKind::Md5, ""))->pointCount() == 480);
  CHECK(mustBuild({{"a", 7}, {"b", 7}, {"c", 7}, {"d", 7}}, ketama(HashKind::Md5, ""))
            ->pointCount() == 640);
  // 1:2:3 -> 80 + 160 + 240 (40 * 3 * w / 6 groups of 4).
  CHECK(mustBuild(kThreeShards, ketama(HashKind::Md5, ""))->pointCount() == 480);
  // 1,1,1,3,5,7,100 of 118 over 7 servers: floor(280 * w / 118) groups of 4 each.
  auto seven = mustBuild({{"s0", 1},
                          {"s1", 1},
                          {"s2", 1},
                          {"s3", 3},
                          {"s4", 5},
                          {"s5", 7},
                          {std::string(81, 'n'), 100}},
                         ketama(HashKind::Md5, ""));
  CHECK(seven->pointCount() == 4 * (2 + 2 + 2 + 7 + 11 + 16 + 237));
}

TEST_CASE("vnode ring golden owners", "[routing][ring]") {
  // Regression goldens; the fnv1a64 row was also reproduced by an independent model of
  // the ring (points mix64(fnv1a64("<name>#<i>")), first point >= mix64(fnv1a64(key))).
  const std::vector<ShardSpec> shards = {
      {"redis-a", 1}, {"redis-b", 1}, {"redis-c", 2}, {"redis-d", 1}};
  const std::vector<std::string> keys = {"foo",
                                         "bar",
                                         "baz",
                                         "user:1",
                                         "user:2",
                                         "{user1000}.following",
                                         "{user1000}.followers",
                                         "session:abc",
                                         "",
                                         "\xff\xfe",
                                         "counter:42",
                                         "a{b}c{d}"};
  const std::vector<uint32_t> fnvOwners = {0, 2, 2, 1, 0, 3, 3, 3, 3, 1, 2, 2};
  const std::vector<uint32_t> murmurOwners = {2, 2, 2, 3, 3, 2, 2, 1, 2, 1, 2, 3};
  auto fnvRing = mustBuild(shards, RingOptions{});
  RingOptions murmur;
  murmur.hash = HashKind::Murmur;
  auto murmurRing = mustBuild(shards, murmur);
  for (size_t i = 0; i < keys.size(); ++i) {
    INFO(keys[i]);
    CHECK(fnvRing->ownerOf(keys[i]) == fnvOwners[i]);
    CHECK(murmurRing->ownerOf(keys[i]) == murmurOwners[i]);
  }
}

TEST_CASE("ketama ring golden owners", "[routing][ring]") {
  const std::vector<ShardSpec> shards = {
      {"redis-a", 1}, {"redis-b", 1}, {"redis-c", 2}, {"redis-d", 1}};
  const std::vector<std::string> keys = {
      "foo", "bar", "baz", "user:1", "user:2", "session:abc", "\xff\xfe", "counter:42", "a{b}c{d}"};
  const std::vector<uint32_t> owners = {2, 2, 2, 3, 3, 0, 1, 2, 1};
  auto ring = mustBuild(shards, ketama(HashKind::Fnv1a64, "{}"));
  for (size_t i = 0; i < keys.size(); ++i) {
    INFO(keys[i]);
    CHECK(ring->ownerOf(keys[i]) == owners[i]);
  }
}

// Every placement below was observed from nutcracker 0.5.0 (Debian 12's package): keys SET
// through a ketama pool of three redis-servers, then found with KEYS on each server.
TEST_CASE("ketama matches nutcracker: fnv1a_64, tag {}", "[routing][ring][nutcracker]") {
  auto ring = mustBuild(kThreeShards, ketama(HashKind::Fnv1a64, "{}"));
  checkPlacements(*ring, {
                             {std::string("P6:{{\xda\x9a\xb1\x65\xf8}}", 12), 0},
                             {std::string("P6:{{key:2}}", 12), 1},
                             {std::string("P6:k", 4), 2},
                             {std::string("P6:{}@\xf4\xf2z\x80", 10), 0},
                             {std::string("P6:u{key:87736658}x", 19), 1},
                             {std::string("P6:{{\x84\x1f\x8d\x64\xf5}}", 12), 2},
                             {std::string("P6:key:679378", 13), 0},
                             {std::string("P6:{{\x9b\xd6\x80\xac\x81}}", 12), 1},
                             {std::string("P6:u{key:952955282}x", 20), 2},
                         });
}

TEST_CASE("ketama matches nutcracker: md5, no tag", "[routing][ring][nutcracker]") {
  auto ring = mustBuild(kThreeShards, ketama(HashKind::Md5, ""));
  checkPlacements(*ring, {
                             {std::string("P1:key:461733401", 16), 0},
                             {std::string("P1:{}key:764415343", 18), 1},
                             {std::string("P1:_\xc9'\xf4\xac\x07ksP]\x91\x65o\xfc", 17), 2},
                             {std::string("P1:{}key:58490804", 17), 0},
                             {std::string("P1:key:793848738", 16), 1},
                             {std::string("P1:u`\x0a\xfc]H#=", 11), 2},
                             {std::string("P1:_d", 5), 0},
                             {std::string("P1:\xa8*\x8b", 6), 1},
                             {std::string("P1:u{&t\xa4\xf3\xf6\x45\xab nK}x", 17), 2},
                         });
}

TEST_CASE("ketama matches nutcracker: crc16, tag {}", "[routing][ring][nutcracker]") {
  auto ring = mustBuild(kThreeShards, ketama(HashKind::Crc16, "{}"));
  checkPlacements(*ring,
                  {
                      {std::string("P2:{}key:13", 11), 0},
                      {std::string("P2:key:815431237", 16), 1},
                      {std::string("P2:key:624224229", 16), 2},
                      {std::string("P2:key:803088498", 16), 0},
                      {std::string("P2:key:974160744", 16), 1},
                      {std::string("P2:q\xb7\xd0=\xff\x35\x06;{{\xd5\x14v\xbb\x9d\xdb\xcb", 20), 2},
                      {std::string("P2:{{u{X,\x86}}", 12), 0},
                      {std::string("P2:key:382646253", 16), 1},
                      {std::string("P2:key:14", 9), 2},
                  });
}

TEST_CASE("ketama matches nutcracker: hsieh, jenkins, fnv1_64", "[routing][ring][nutcracker]") {
  checkPlacements(*mustBuild(kThreeShards, ketama(HashKind::Hsieh, "")),
                  {
                      {std::string("P9:key", 6), 0},
                      {std::string("P9:key:625640623", 16), 1},
                      {std::string("P9:key:960709717", 16), 2},
                      {std::string("P9:Q", 4), 0},
                      {std::string("P9:u{key:282048}x", 17), 1},
                      {std::string("P9:key:25525", 12), 2},
                  });
  checkPlacements(*mustBuild(kThreeShards, ketama(HashKind::Jenkins, "")),
                  {
                      {std::string("P11:key:805014165", 17), 0},
                      {std::string("P11:key:3609", 12), 1},
                      {std::string("P11:key:56648", 13), 2},
                      {std::string("P11:{{\xa9\x45\x63l\xe9}}", 13), 0},
                      {std::string("P11:\x0a\xaa\x8d\x63VM-\xb8.\xb6\xa5\xf5\x02\xb4", 18), 1},
                      {std::string("P11:key:953813763", 17), 2},
                  });
  checkPlacements(*mustBuild(kThreeShards, ketama(HashKind::Fnv1_64, "")),
                  {
                      {std::string("P5:key:960680913", 16), 0},
                      {std::string("P5:u{key:378101236}x", 20), 2},
                      {std::string("P5:\xd2\x91\x64\xa6\x38\xcdG\x9c;\xf9\xd7\xde\x8f\x98", 17), 0},
                      {std::string("P5:u{\x03/\xb2:;\xf4}x", 13), 1},
                      {std::string("P5:key:96096635", 15), 2},
                  });
}

TEST_CASE("ketama matches nutcracker: crc32 and the empty key sit below the first point",
          "[routing][ring][nutcracker]") {
  // crc32 yields 15 bits, so nutcracker sent every key to the owner of the lowest point
  // (beta-node); an empty key is not hashed at all (position 0) and goes there too.
  auto ring = mustBuild(kThreeShards, ketama(HashKind::Crc32, ""));
  for (int i = 0; i < 1000; ++i) CHECK(ring->ownerOf("P3:key:" + std::to_string(i)) == 1);
  CHECK(ring->ownerOf("") == 1);
  CHECK(mustBuild(kThreeShards, ketama(HashKind::Murmur, "{}"))->ownerOf("{}") ==
        mustBuild(kThreeShards, ketama(HashKind::Murmur, ""))->ownerOf("{}"));
}

TEST_CASE("ketama matches nutcracker: 7 weighted servers, 85-byte host names",
          "[routing][ring][nutcracker]") {
  // Pool: s0..s5 with weights 1,1,1,3,5,7 and an 81-char name with weight 100, whose
  // host strings reach "<81 n>-236", exactly nutcracker's 85-byte limit.
  const std::vector<ShardSpec> seven = {{"s0", 1},
                                        {"s1", 1},
                                        {"s2", 1},
                                        {"s3", 3},
                                        {"s4", 5},
                                        {"s5", 7},
                                        {std::string(81, 'n'), 100}};
  checkPlacements(*mustBuild(seven, ketama(HashKind::Md5, "{}")),
                  {
                      {std::string("P0:{{{}u{\x05}}", 12), 6},
                      {std::string("P0:key:741645241", 16), 5},
                      {std::string("P0:key:97276445", 15), 4},
                      {std::string("P0:key:160", 10), 2},
                      {std::string("P0:\x17\xb3Yap'jZCY\x02\x34\x42\x07\x1e", 18), 3},
                      {std::string("P0:\xf6", 4), 0},
                  });
  checkPlacements(*mustBuild(seven, ketama(HashKind::Fnv1a64, "")), {
                                                                        {"P1:key:498866559", 1},
                                                                        {"P1:key:257929239", 0},
                                                                    });
}
