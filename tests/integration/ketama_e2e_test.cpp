// ringproxy (distribution: ketama) against the reference: nutcracker (twemproxy 0.5.0)
// with the same hash, the same server names s1..s3 and the same redis shards. Keys written
// through one must be read back through the other, and every key must sit on the shard
// the in-test ring names — for every hash function twemproxy offers.
// Owns: nothing shared (fresh shards per hash). Run by ctest as "e2e: ketama: ...".
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/cluster.h"
#include "tests/support/nutcracker.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

constexpr int kKeys = 10000;

// A varied key set: plain, hash-tagged, bytes >= 0x80 (twemproxy sign-extends some of
// those), long keys and empty-tag keys ("{}" is not a tag: the whole key is hashed).
std::vector<std::string> makeKeys(const std::string& prefix) {
  std::vector<std::string> keys;
  keys.reserve(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    switch (i % 8) {
      case 0: keys.push_back(cat("{", prefix, "grp", i % 97, "}:", i)); break;
      case 1: keys.push_back(cat(prefix, "\xc3\xa9t\xe9\xff:", i)); break;
      case 2: keys.push_back(cat(prefix, std::string(120, 'L'), i)); break;
      case 3: keys.push_back(cat(prefix, "{}:", i)); break;
      default: keys.push_back(cat(prefix, "key:", i)); break;
    }
  }
  return keys;
}

std::string valueOf(const std::string& key) { return "val=" + key; }

// SETs every key through `writer` (one pipeline); returns the number of non-OK replies.
size_t writeAll(Client& writer, const std::vector<std::string>& keys) {
  for (const auto& k : keys) writer.append({"SET", k, valueOf(k)});
  size_t bad = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    Reply r = writer.getReply();
    if (!r.isStatus("OK") && ++bad <= 5) UNSCOPED_INFO("SET " << keys[i] << " -> " << r);
  }
  return bad;
}

// GETs every key through `reader` (one pipeline); returns the number of wrong replies.
size_t readAll(Client& reader, const std::vector<std::string>& keys,
               const routing::HashRing& ring) {
  for (const auto& k : keys) reader.append({"GET", k});
  size_t bad = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    Reply r = reader.getReply();
    if (r.isString(valueOf(keys[i]))) continue;
    if (++bad <= 5) {
      UNSCOPED_INFO("GET " << keys[i] << " (ring owner s" << ring.ownerOf(keys[i]) + 1
                           << ") -> " << r);
    }
  }
  return bad;
}

struct KetamaSetup {
  TempDir dir;
  std::vector<std::unique_ptr<RedisServer>> shards;
  std::unique_ptr<Nutcracker> nutcracker;
  std::unique_ptr<Proxy> proxy;
  std::shared_ptr<const routing::HashRing> ring;

  KetamaSetup(const std::string& hash, const std::vector<uint32_t>& weights) {
    ProxyOptions opts;
    opts.distribution = "ketama";
    opts.hash = hash;
    opts.timeoutMs = 5000;
    std::vector<NutcrackerServer> servers;
    for (size_t i = 0; i < weights.size(); ++i) {
      std::string name = cat("s", i + 1);
      shards.push_back(std::make_unique<RedisServer>(dir, name));
      servers.push_back({name, shards.back()->port(), weights[i]});
      opts.shards.push_back({name, shards.back()->address(), weights[i]});
    }
    ring = ringFor(opts);
    nutcracker = std::make_unique<Nutcracker>(dir, servers, hash);
    proxy = std::make_unique<Proxy>(dir, opts);
  }
  std::vector<uint16_t> ports() const {
    std::vector<uint16_t> out;
    for (const auto& s : shards) out.push_back(s->port());
    return out;
  }
};

void compareWithNutcracker(const std::string& hash, const std::vector<uint32_t>& weights) {
  KetamaSetup setup(hash, weights);
  Client nut = setup.nutcracker->client(15000ms);
  Client rp = setup.proxy->client(15000ms);
  auto keysA = makeKeys("a:");
  auto keysB = makeKeys("b:");

  REQUIRE(writeAll(nut, keysA) == 0);
  // Reference first: the in-test ring must agree with where nutcracker put the keys.
  auto nutPlacement = checkPlacement(setup.ports(), *setup.ring, keysA);
  for (const auto& p : nutPlacement) UNSCOPED_INFO("nutcracker vs in-test ring: " << p);
  CHECK(nutPlacement.empty());
  CHECK(readAll(rp, keysA, *setup.ring) == 0);

  REQUIRE(writeAll(rp, keysB) == 0);
  auto rpPlacement = checkPlacement(setup.ports(), *setup.ring, keysB);
  for (const auto& p : rpPlacement) UNSCOPED_INFO("ringproxy vs in-test ring: " << p);
  CHECK(rpPlacement.empty());
  CHECK(readAll(nut, keysB, *setup.ring) == 0);
}

}  // namespace

TEST_CASE("ketama: ringproxy and nutcracker place every key identically", "[ketama]") {
  const std::string hash = GENERATE(as<std::string>{}, "fnv1a_64", "murmur", "md5", "crc32a",
                                    "fnv1a_32", "one_at_a_time", "fnv1_64", "fnv1_32", "crc16",
                                    "crc32", "hsieh", "jenkins");
  INFO("hash " << hash);
  compareWithNutcracker(hash, {1, 1, 1});
}

TEST_CASE("ketama: unequal weights match nutcracker too", "[ketama]") {
  const std::string hash = GENERATE(as<std::string>{}, "fnv1a_64", "md5");
  INFO("hash " << hash << ", weights 1,2,3");
  compareWithNutcracker(hash, {1, 2, 3});
}
