// Full command coverage, part 1: the commands ringproxy splits, checks or spreads across
// three real shards — MGET/MSET/DEL/UNLINK/EXISTS/TOUCH fan-out, CROSSSLOT for atomic
// multi-key commands, routing by numkeys (ZUNIONSTORE, EVAL), SCRIPT LOAD + EVALSHA on every
// shard, SCAN/DBSIZE/RANDOMKEY over the whole keyspace, and the commands.allow policy.
// Keys for "different shards" come from the in-test ring, so they really differ.
// Owns: nothing shared (each TEST_CASE builds its own ShardedCluster on free ports).
// Run by: ctest as "e2e: commands: ...". Part 2: commands_txn_blocking_e2e_test.cpp;
// part 3: commands_local_e2e_test.cpp; part 4: commands_pubsub_e2e_test.cpp.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/commands_e2e.h"
#include "tests/support/cluster.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace cmdtest;
using namespace std::chrono_literals;

TEST_CASE("commands: a 10,000-key MGET across 3 shards keeps the client's order",
          "[commands][multikey]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client(20000ms);
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 10000; ++i) {
    keys.push_back(cat("mg:", i));
    if (i % 7 != 3) sets.push_back({"SET", keys.back(), cat("v", i)});  // every 7th is missing
  }
  REQUIRE(pipelineExpect(c, sets, status("OK")) == 0);

  std::vector<std::string> mget{"MGET"};
  mget.insert(mget.end(), keys.begin(), keys.end());
  Reply r = c.cmd(mget);
  REQUIRE(r.type == ReplyType::Array);
  REQUIRE(r.elements.size() == keys.size());
  size_t wrong = 0;
  std::set<uint32_t> shardsUsed;
  for (size_t i = 0; i < keys.size(); ++i) {
    shardsUsed.insert(cluster.ownerOf(keys[i]));
    const Reply expected = i % 7 != 3 ? bulk(cat("v", i)) : nil();
    if (r.elements[i] == expected) continue;
    if (++wrong <= 10) UNSCOPED_INFO("MGET element " << i << ": " << r.elements[i] << ", expected " << expected);
  }
  CHECK(wrong == 0);
  CHECK(shardsUsed.size() == 3);
  CHECK(c.cmd({"PING"}) == status("PONG"));
}

TEST_CASE("commands: MSET of 1,000 pairs lands on the owning shards", "[commands][multikey]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client(10000ms);
  std::vector<std::string> mset{"MSET"}, keys;
  for (int i = 0; i < 1000; ++i) {
    keys.push_back(cat("ms:", i));
    mset.push_back(keys.back());
    mset.push_back(cat("value-", i));
  }
  CHECK(c.cmd(mset) == status("OK"));
  requirePlacement(cluster, keys);
  // Each value, read directly from the shard the ring names.
  size_t wrong = 0;
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    Client direct = cluster.shard(s).client();
    for (int i = 0; i < 1000; ++i) {
      if (cluster.ownerOf(keys[i]) != s) continue;
      Reply v = direct.cmd({"GET", keys[i]});
      if (v == bulk(cat("value-", i))) continue;
      if (++wrong <= 5) UNSCOPED_INFO(keys[i] << " on s" << s + 1 << ": " << v);
    }
  }
  CHECK(wrong == 0);
  long long total = 0;
  for (size_t s = 0; s < cluster.shardCount(); ++s) total += shardDbsize(cluster.shard(s));
  CHECK(total == 1000);
}

TEST_CASE("commands: DEL, UNLINK, EXISTS and TOUCH sum across shards", "[commands][multikey]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  const std::string k0 = cluster.keyOnShard(0, "sum:"), k1 = cluster.keyOnShard(1, "sum:"),
                    k2 = cluster.keyOnShard(2, "sum:");
  for (const auto& k : {k0, k1, k2}) REQUIRE(c.cmd({"SET", k, "v"}) == status("OK"));

  CHECK(c.cmd({"EXISTS", k0, k1, k2, "sum:absent"}) == integer(3));
  CHECK(c.cmd({"EXISTS", k0, k0}) == integer(2));  // Redis counts a repeated key each time
  CHECK(c.cmd({"EXISTS", k0, k1, k0, k2, k1}) == integer(5));
  CHECK(c.cmd({"TOUCH", k0, k1, k2, "sum:absent"}) == integer(3));
  CHECK(c.cmd({"DEL", k0, k0}) == integer(1));  // ...but deletes it once
  CHECK(c.cmd({"DEL", k0, k1, "sum:absent"}) == integer(1));
  CHECK(c.cmd({"SET", k0, "v"}) == status("OK"));
  CHECK(c.cmd({"UNLINK", k2, k0, k1}) == integer(2));
  CHECK(c.cmd({"EXISTS", k0, k1, k2}) == integer(0));
  CHECK(c.cmd({"TOUCH", k0, k1, k2}) == integer(0));
  for (size_t s = 0; s < cluster.shardCount(); ++s) CHECK(shardDbsize(cluster.shard(s)) == 0);
}

TEST_CASE("commands: atomic multi-key commands on different shards get CROSSSLOT",
          "[commands][crossslot]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  const std::string a = cluster.keyOnShard(0, "x:"), a2 = cluster.keyOnShard(0, "x2:");
  const std::string b = cluster.keyOnShard(1, "x:");
  REQUIRE(cluster.ownerOf(a) != cluster.ownerOf(b));
  REQUIRE(c.cmd({"SET", a, "1"}) == status("OK"));
  REQUIRE(c.cmd({"SADD", a2, "m"}) == integer(1));
  REQUIRE(c.cmd({"SADD", b, "m"}) == integer(1));
  const Reply cross = errorReply(kCrossSlot);

  CHECK(c.cmd({"RENAME", a, b}) == cross);
  CHECK(c.cmd({"SMOVE", a2, b, "m"}) == cross);
  CHECK(c.cmd({"SINTERSTORE", a, a2, b}) == cross);
  CHECK(c.cmd({"LMOVE", a, b, "LEFT", "RIGHT"}) == cross);
  CHECK(c.cmd({"EVAL", "return 1", "2", a, b}) == cross);
  CHECK(c.cmd({"ZUNIONSTORE", a, "2", a2, b}) == cross);
  // Nothing moved.
  CHECK(c.cmd({"GET", a}) == bulk("1"));
  CHECK(c.cmd({"SISMEMBER", b, "m"}) == integer(1));
  CHECK(c.cmd({"PING"}) == status("PONG"));

  SECTION("the same commands on keys sharing a hash tag succeed") {
    CHECK(c.cmd({"SET", "{user1}a", "va"}) == status("OK"));
    CHECK(c.cmd({"RENAME", "{user1}a", "{user1}b"}) == status("OK"));
    CHECK(c.cmd({"GET", "{user1}b"}) == bulk("va"));
    CHECK(c.cmd({"SADD", "{user1}s1", "m", "n"}) == integer(2));
    CHECK(c.cmd({"SADD", "{user1}s2", "n"}) == integer(1));
    CHECK(c.cmd({"SINTERSTORE", "{user1}d", "{user1}s1", "{user1}s2"}) == integer(1));
    CHECK(c.cmd({"SMOVE", "{user1}s1", "{user1}s2", "m"}) == integer(1));
    CHECK(c.cmd({"RPUSH", "{user1}l1", "e1", "e2"}) == integer(2));
    CHECK(c.cmd({"LMOVE", "{user1}l1", "{user1}l2", "LEFT", "RIGHT"}) == bulk("e1"));
    CHECK(c.cmd({"EVAL", "return redis.call('get', KEYS[1]) .. redis.call('scard', KEYS[2])",
                 "2", "{user1}b", "{user1}s2"}) == bulk("va2"));
    requirePlacement(cluster, {"{user1}b", "{user1}s1", "{user1}s2", "{user1}d", "{user1}l1",
                               "{user1}l2"});
  }
}

TEST_CASE("commands: ZUNIONSTORE and EVAL route by their real keys (numkeys)",
          "[commands][numkeys]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    INFO("keys on s" << s + 1);
    const auto k = cluster.keysOnShard(s, "zu:", 3);  // dest, src1, src2
    CHECK(c.cmd({"ZADD", k[1], "1", "a", "2", "b"}) == integer(2));
    CHECK(c.cmd({"ZADD", k[2], "10", "b", "20", "c"}) == integer(2));
    CHECK(c.cmd({"ZUNIONSTORE", k[0], "2", k[1], k[2], "WEIGHTS", "1", "2"}) == integer(3));
    CHECK(cluster.shard(s).client().cmd({"ZRANGE", k[0], "0", "-1", "WITHSCORES"}) ==
          array({bulk("a"), bulk("1"), bulk("b"), bulk("22"), bulk("c"), bulk("40")}));
    requirePlacement(cluster, k);

    const std::string ek = cluster.keyOnShard(s, "ev:");
    CHECK(c.cmd({"EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", ek, "from-eval"}) ==
          status("OK"));
    CHECK(cluster.shard(s).client().cmd({"GET", ek}) == bulk("from-eval"));
    requirePlacement(cluster, {ek});
  }
  // No keys at all: the script still runs (on some shard).
  CHECK(c.cmd({"EVAL", "return 42", "0"}) == integer(42));
  CHECK(c.cmd({"EVAL", "return ARGV[1]", "0", "hello"}) == bulk("hello"));
  CHECK(c.cmd({"PING"}) == status("PONG"));
}

TEST_CASE("commands: SCRIPT LOAD reaches every shard, EVALSHA works for any key",
          "[commands][scripts]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  Reply sha = c.cmd({"SCRIPT", "LOAD", "return redis.call('incrby', KEYS[1], ARGV[1])"});
  REQUIRE(sha.type == ReplyType::String);
  REQUIRE(sha.str.size() == 40);
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    INFO("shard s" << s + 1);
    CHECK(cluster.shard(s).client().cmd({"SCRIPT", "EXISTS", sha.str}) == array({integer(1)}));
    const std::string k = cluster.keyOnShard(s, "sha:");
    CHECK(c.cmd({"EVALSHA", sha.str, "1", k, "5"}) == integer(5));
    CHECK(c.cmd({"EVALSHA", sha.str, "1", k, "2"}) == integer(7));
    CHECK(cluster.shard(s).client().cmd({"GET", k}) == bulk("7"));
  }
  const std::string unknownSha(40, '0');
  CHECK(c.cmd({"SCRIPT", "EXISTS", sha.str, unknownSha}) == array({integer(1), integer(0)}));
  Reply noScript = c.cmd({"EVALSHA", unknownSha, "1", "sha:any"});
  CHECK(noScript.type == ReplyType::Error);
  CHECK(noScript.str.rfind("NOSCRIPT", 0) == 0);
}

TEST_CASE("commands: SCAN, DBSIZE and RANDOMKEY cover the whole keyspace",
          "[commands][keyspace]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client(10000ms);
  std::vector<std::string> aKeys, bKeys, hashKeys;
  std::vector<std::vector<std::string>> sets, hsets;
  for (int i = 0; i < 300; ++i) {
    aKeys.push_back(cat("scan:a:", i));
    bKeys.push_back(cat("scan:b:", i));
    sets.push_back({"SET", aKeys.back(), "v"});
    sets.push_back({"SET", bKeys.back(), "v"});
  }
  for (int i = 0; i < 60; ++i) {
    hashKeys.push_back(cat("scanh:", i));
    hsets.push_back({"HSET", hashKeys.back(), "f", "v"});
  }
  REQUIRE(pipelineExpect(c, sets, status("OK")) == 0);
  REQUIRE(pipelineExpect(c, hsets, integer(1)) == 0);
  std::vector<std::string> all = aKeys;
  all.insert(all.end(), bKeys.begin(), bKeys.end());
  all.insert(all.end(), hashKeys.begin(), hashKeys.end());
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    CHECK(shardDbsize(cluster.shard(s)) > 100);  // every shard holds part of the keyspace
  }

  struct Walk {
    std::vector<std::string> extra;
    const std::vector<std::string>* expected;
  };
  const std::vector<Walk> walks = {
      {{"COUNT", "10"}, &all},
      {{"MATCH", "scan:a:*", "COUNT", "10"}, &aKeys},
      {{"TYPE", "hash", "COUNT", "10"}, &hashKeys},
      {{}, &all},
  };
  for (const Walk& w : walks) {
    std::string shown;
    for (const auto& e : w.extra) shown += " " + e;
    INFO("SCAN <cursor>" << shown);
    std::string error;
    auto seen = scanAll(c, w.extra, error);
    CHECK(error == "");
    auto problems = exactlyOnceProblems(seen, *w.expected);
    for (const auto& p : problems) UNSCOPED_INFO(p);
    CHECK(problems.empty());
  }
  Reply badCursor = c.cmd({"SCAN", "not-a-number"});
  CHECK(badCursor.type == ReplyType::Error);

  long long shardSum = 0;
  for (size_t s = 0; s < cluster.shardCount(); ++s) shardSum += shardDbsize(cluster.shard(s));
  CHECK(shardSum == static_cast<long long>(all.size()));
  CHECK(c.cmd({"DBSIZE"}) == integer(shardSum));

  const std::set<std::string> allSet(all.begin(), all.end());
  for (int i = 0; i < 10; ++i) {
    Reply rk = c.cmd({"RANDOMKEY"});
    INFO("RANDOMKEY replied " << rk);
    CHECK(rk.type == ReplyType::String);
    CHECK(allSet.count(rk.str) == 1);
  }
}

TEST_CASE("commands: keyspace-wide commands are denied by default, naming commands.allow",
          "[commands][policy]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    REQUIRE(c.cmd({"SET", cluster.keyOnShard(s, "pol:"), "v"}) == status("OK"));
  }
  const std::vector<std::pair<std::vector<std::string>, std::string>> denied = {
      {{"KEYS", "*"}, "'keys'"},
      {{"FLUSHALL"}, "'flushall'"},
      {{"FLUSHDB"}, "'flushdb'"},
      {{"CONFIG", "SET", "maxmemory", "0"}, "'config|set'"},
  };
  for (const auto& [cmd, name] : denied) {
    Reply r = c.cmd(cmd);
    INFO(cmd[0] << " replied " << r);
    CHECK(r.type == ReplyType::Error);
    CHECK(r.str.rfind("ERR ", 0) == 0);
    CHECK(r.str.find(name) != std::string::npos);
    CHECK(r.str.find("commands.allow") != std::string::npos);
  }
  for (size_t s = 0; s < cluster.shardCount(); ++s) CHECK(shardDbsize(cluster.shard(s)) == 1);
  CHECK(c.cmd({"PING"}) == status("PONG"));
}

TEST_CASE("commands: with commands.allow, KEYS sees every shard and FLUSHDB empties all",
          "[commands][policy]") {
  ProxyOptions opts = suiteOptions();
  opts.extraYaml = "commands:\n  allow: [keys, flushdb]\n";
  ShardedCluster cluster(opts);
  Client c = cluster.client();
  std::vector<std::string> keys;
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    for (const auto& k : cluster.keysOnShard(s, "allow:", 4)) {
      keys.push_back(k);
      REQUIRE(c.cmd({"SET", k, "v"}) == status("OK"));
    }
  }
  CHECK(c.cmd({"SET", "other:1", "v"}) == status("OK"));
  CHECK(sortedStrings(c.cmd({"KEYS", "allow:*"})) == sorted(keys));
  CHECK(c.cmd({"KEYS", "*"}).elements.size() == keys.size() + 1);

  Reply flushall = c.cmd({"FLUSHALL"});  // still denied: only keys and flushdb were allowed
  CHECK(flushall.type == ReplyType::Error);
  CHECK(flushall.str.find("commands.allow") != std::string::npos);

  CHECK(c.cmd({"FLUSHDB"}) == status("OK"));
  for (size_t s = 0; s < cluster.shardCount(); ++s) CHECK(shardDbsize(cluster.shard(s)) == 0);
  CHECK(c.cmd({"DBSIZE"}) == integer(0));
  CHECK(c.cmd({"KEYS", "*"}) == array({}));
}
