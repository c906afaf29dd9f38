// End-to-end behaviour of ringproxy in front of three redis-server shards, seen by a
// hiredis client: data types, expiry, a 10,000-command pipeline, key placement checked
// directly on every shard, local commands, errors, multi-key commands, concurrency,
// metrics and clean shutdown.
// Owns: nothing shared (each TEST_CASE builds its own ShardedCluster on free ports).
// Run by: ctest as "e2e: proxy: ...".
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

// Sorted string elements of an array reply (for set-like results).
std::vector<std::string> sortedStrings(const Reply& r) {
  std::vector<std::string> out;
  for (const auto& e : r.elements) out.push_back(e.str);
  std::sort(out.begin(), out.end());
  return out;
}

struct Step {
  std::vector<std::string> cmd;
  Reply expected;
};

// A deterministic mix of commands on many keys, with the replies Redis must give.
class PipelineModel {
 public:
  Step next(int i) {
    switch (i % 12) {
      case 0: return set(cat("str:", i), cat("val:", i));
      case 1: return {{"GET", cat("str:", i - 1)}, bulk(strings_[cat("str:", i - 1)])};
      case 2: return {{"INCR", cat("ctr:", i % 97)}, integer(++counters_[i % 97])};
      case 3: return push(cat("list:", i % 53), cat("e", i));
      case 4: return hset(cat("hash:", i % 71), cat("f", i), cat("v", i));
      case 5: return {{"GET", cat("missing:", i)}, nil()};
      case 6: return sadd(cat("set:", i % 31), cat("m", i));
      case 7: return {{"HGET", cat("hash:", (i - 3) % 71), cat("f", i - 3)}, bulk(cat("v", i - 3))};
      case 8: return llen(cat("list:", (i - 5) % 53));
      case 9: return append(cat("str:", i - 9));
      case 10: return zadd(cat("z:", i % 41), i, cat("m", i));
      default: return strlen(cat("str:", i - 11));
    }
  }
  std::set<std::string> keys;

 private:
  Step set(const std::string& k, const std::string& v) {
    keys.insert(k);
    strings_[k] = v;
    return {{"SET", k, v}, status("OK")};
  }
  Step push(const std::string& k, const std::string& v) {
    keys.insert(k);
    return {{"LPUSH", k, v}, integer(++lists_[k])};
  }
  Step hset(const std::string& k, const std::string& f, const std::string& v) {
    keys.insert(k);
    return {{"HSET", k, f, v}, integer(1)};
  }
  Step sadd(const std::string& k, const std::string& m) {
    keys.insert(k);
    return {{"SADD", k, m}, integer(1)};
  }
  Step zadd(const std::string& k, int score, const std::string& m) {
    keys.insert(k);
    return {{"ZADD", k, std::to_string(score), m}, integer(1)};
  }
  Step llen(const std::string& k) { return {{"LLEN", k}, integer(lists_[k])}; }
  Step strlen(const std::string& k) {
    return {{"STRLEN", k}, integer(static_cast<long long>(strings_[k].size()))};
  }
  Step append(const std::string& k) {
    strings_[k] += "+";
    return {{"APPEND", k, "+"}, integer(static_cast<long long>(strings_[k].size()))};
  }
  std::map<std::string, std::string> strings_;
  std::map<long long, long long> counters_;
  std::map<std::string, long long> lists_;
};

// Written keys must each live on exactly the shard the ring names.
void requirePlacement(ShardedCluster& cluster, const std::vector<std::string>& keys) {
  auto problems = cluster.checkPlacement(keys);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
}

}  // namespace

TEST_CASE("proxy: strings and counters", "[proxy]") {
  ShardedCluster cluster;
  Client c = cluster.client();
  const std::string binary("bin\0ary\r\nval\xff", 13);
  const std::string big(1 << 20, 'x');

  CHECK(c.cmd({"SET", "s:plain", "hello"}) == status("OK"));
  CHECK(c.cmd({"GET", "s:plain"}) == bulk("hello"));
  CHECK(c.cmd({"SET", "s:bin", binary}) == status("OK"));
  CHECK(c.cmd({"GET", "s:bin"}) == bulk(binary));
  CHECK(c.cmd({"SET", "s:big", big}) == status("OK"));
  CHECK(c.cmd({"GET", "s:big"}) == bulk(big));
  CHECK(c.cmd({"GET", "s:absent"}) == nil());
  CHECK(c.cmd({"APPEND", "s:plain", " world"}) == integer(11));
  CHECK(c.cmd({"STRLEN", "s:plain"}) == integer(11));
  CHECK(c.cmd({"SETNX", "s:plain", "other"}) == integer(0));
  CHECK(c.cmd({"GETSET", "s:plain", "again"}) == bulk("hello world"));
  CHECK(c.cmd({"INCR", "s:ctr"}) == integer(1));
  CHECK(c.cmd({"INCRBY", "s:ctr", "41"}) == integer(42));
  CHECK(c.cmd({"DECR", "s:ctr"}) == integer(41));
  CHECK(c.cmd({"GET", "s:ctr"}) == bulk("41"));
  Reply notInt = c.cmd({"INCR", "s:plain"});  // backend error passed through
  CHECK(notInt.type == ReplyType::Error);
  CHECK(notInt.str.rfind("ERR value is not an integer", 0) == 0);
  CHECK(c.cmd({"TYPE", "s:plain"}) == status("string"));
  CHECK(c.cmd({"GETDEL", "s:bin"}) == bulk(binary));
  CHECK(c.cmd({"GET", "s:bin"}) == nil());
  requirePlacement(cluster, {"s:plain", "s:big", "s:ctr"});
}

TEST_CASE("proxy: hashes, lists, sets and sorted sets", "[proxy]") {
  ShardedCluster cluster;
  Client c = cluster.client();

  CHECK(c.cmd({"HSET", "h:1", "f1", "v1", "f2", "v2"}) == integer(2));
  CHECK(c.cmd({"HGET", "h:1", "f2"}) == bulk("v2"));
  CHECK(c.cmd({"HLEN", "h:1"}) == integer(2));
  CHECK(c.cmd({"HINCRBY", "h:1", "n", "5"}) == integer(5));
  Reply all = c.cmd({"HGETALL", "h:1"});
  CHECK(all.type == ReplyType::Array);
  CHECK(all.elements.size() == 6);
  CHECK(c.cmd({"HDEL", "h:1", "f1"}) == integer(1));
  CHECK(c.cmd({"HEXISTS", "h:1", "f1"}) == integer(0));

  CHECK(c.cmd({"RPUSH", "l:1", "a", "b", "c"}) == integer(3));
  CHECK(c.cmd({"LPUSH", "l:1", "z"}) == integer(4));
  CHECK(c.cmd({"LRANGE", "l:1", "0", "-1"}) == array({bulk("z"), bulk("a"), bulk("b"), bulk("c")}));
  CHECK(c.cmd({"LPOP", "l:1"}) == bulk("z"));
  CHECK(c.cmd({"LLEN", "l:1"}) == integer(3));
  CHECK(c.cmd({"LINDEX", "l:1", "-1"}) == bulk("c"));

  CHECK(c.cmd({"SADD", "set:1", "x", "y", "z", "x"}) == integer(3));
  CHECK(c.cmd({"SISMEMBER", "set:1", "y"}) == integer(1));
  CHECK(c.cmd({"SCARD", "set:1"}) == integer(3));
  CHECK(sortedStrings(c.cmd({"SMEMBERS", "set:1"})) == std::vector<std::string>{"x", "y", "z"});
  CHECK(c.cmd({"SREM", "set:1", "x"}) == integer(1));

  CHECK(c.cmd({"ZADD", "z:1", "1", "a", "2", "b", "3", "c"}) == integer(3));
  CHECK(c.cmd({"ZSCORE", "z:1", "b"}) == bulk("2"));
  CHECK(c.cmd({"ZINCRBY", "z:1", "10", "a"}) == bulk("11"));
  CHECK(c.cmd({"ZRANGE", "z:1", "0", "-1", "WITHSCORES"}) ==
        array({bulk("b"), bulk("2"), bulk("c"), bulk("3"), bulk("a"), bulk("11")}));
  CHECK(c.cmd({"ZRANK", "z:1", "a"}) == integer(2));
  CHECK(c.cmd({"ZCARD", "z:1"}) == integer(3));

  Reply wrongType = c.cmd({"LPUSH", "h:1", "x"});
  CHECK(wrongType.type == ReplyType::Error);
  CHECK(wrongType.str.rfind("WRONGTYPE", 0) == 0);
  CHECK(c.cmd({"PING"}) == status("PONG"));
  requirePlacement(cluster, {"h:1", "l:1", "set:1", "z:1"});
}

TEST_CASE("proxy: EXPIRE, TTL, PEXPIRE and PERSIST", "[proxy]") {
  ShardedCluster cluster;
  Client c = cluster.client();
  CHECK(c.cmd({"SET", "e:1", "v"}) == status("OK"));
  CHECK(c.cmd({"TTL", "e:1"}) == integer(-1));
  CHECK(c.cmd({"EXPIRE", "e:1", "100"}) == integer(1));
  Reply ttl = c.cmd({"TTL", "e:1"});
  REQUIRE(ttl.type == ReplyType::Integer);
  CHECK(ttl.integer > 90);
  CHECK(ttl.integer <= 100);
  CHECK(c.cmd({"PERSIST", "e:1"}) == integer(1));
  CHECK(c.cmd({"TTL", "e:1"}) == integer(-1));
  CHECK(c.cmd({"TTL", "e:absent"}) == integer(-2));
  CHECK(c.cmd({"SET", "e:2", "v", "PX", "100000"}) == status("OK"));
  Reply pttl = c.cmd({"PTTL", "e:2"});
  CHECK((pttl.type == ReplyType::Integer && pttl.integer > 90000));

  CHECK(c.cmd({"SET", "e:3", "v"}) == status("OK"));
  CHECK(c.cmd({"PEXPIRE", "e:3", "50"}) == integer(1));
  CHECK(waitUntil([&] { return c.cmd({"GET", "e:3"}).isNil(); }, 3000ms));
  CHECK(c.cmd({"TTL", "e:3"}) == integer(-2));
  requirePlacement(cluster, {"e:1", "e:2"});
}

TEST_CASE("proxy: a pipeline of 10,000 mixed commands comes back complete and in order",
          "[proxy][pipeline]") {
  ShardedCluster cluster;
  Client c = cluster.client(15000ms);
  PipelineModel model;
  std::vector<Step> steps;
  for (int i = 0; i < 10000; ++i) steps.push_back(model.next(i));

  for (const auto& s : steps) c.append(s.cmd);
  size_t mismatches = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    Reply got = c.getReply();
    if (got == steps[i].expected) continue;
    if (++mismatches <= 10) {
      UNSCOPED_INFO("reply #" << i << " to " << steps[i].cmd[0] << " " << steps[i].cmd[1]
                              << ": got " << got << ", expected " << steps[i].expected);
    }
    if (got.type == ReplyType::IoError) break;  // connection gone: the rest cannot come
  }
  CHECK(mismatches == 0);
  CHECK(c.cmd({"PING"}) == status("PONG"));

  std::vector<std::string> keys(model.keys.begin(), model.keys.end());
  requirePlacement(cluster, keys);
  CHECK(cluster.proxy().stop() == 0);
}

TEST_CASE("proxy: every key lives on exactly the shard the ring names", "[proxy]") {
  ShardedCluster cluster;
  Client c = cluster.client(15000ms);
  std::vector<std::string> keys;
  for (int i = 0; i < 3000; ++i) keys.push_back(cat("place:", i));
  for (int i = 0; i < 300; ++i) keys.push_back(cat("{user:", i % 50, "}:item:", i));
  for (int i = 0; i < 100; ++i) keys.push_back(cat("bytes\x80\xfe:", i, std::string(1, '\0')));
  for (const auto& k : keys) c.append({"SET", k, "v"});
  size_t bad = 0;
  for (size_t i = 0; i < keys.size(); ++i) bad += c.getReply().isStatus("OK") ? 0 : 1;
  REQUIRE(bad == 0);
  requirePlacement(cluster, keys);
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    Reply size = cluster.shard(s).client().cmd({"DBSIZE"});
    CHECK(size.type == ReplyType::Integer);
    CHECK(size.integer > 500);  // 3400 keys over 3 equal shards: none is starved
  }
  // A hash tag co-locates: every {user:N} key sits with the owner of "user:N".
  for (int u = 0; u < 50; ++u) {
    CHECK(cluster.ownerOf(cat("{user:", u, "}:item:", u)) == cluster.ownerOf(cat("user:", u)));
  }
}

TEST_CASE("proxy: PING, ECHO and SELECT are answered", "[proxy]") {
  ShardedCluster cluster;
  Client c = cluster.client();
  CHECK(c.cmd({"PING"}) == status("PONG"));
  CHECK(c.cmd({"PING", "hi there"}) == bulk("hi there"));
  CHECK(c.cmd({"ECHO", "hello"}) == bulk("hello"));
  CHECK(c.cmd({"ECHO", std::string("a\0b", 3)}) == bulk(std::string("a\0b", 3)));
  CHECK(c.cmd({"SELECT", "0"}) == status("OK"));
  CHECK(c.cmd({"select", "0"}) == status("OK"));
  CHECK(c.cmd({"SELECT", "1"}).isError());
  CHECK(c.cmd({"PING"}) == status("PONG"));
}

TEST_CASE("proxy: unknown and malformed commands get errors, the connection survives",
          "[proxy]") {
  ShardedCluster cluster;
  Client c = cluster.client();
  Reply unknown = c.cmd({"FOOBARCMD", "a", "b"});
  CHECK(unknown.type == ReplyType::Error);
  CHECK(unknown.str.rfind("ERR unknown command", 0) == 0);
  CHECK(c.cmd({"PING"}) == status("PONG"));

  Reply arity = c.cmd({"GET"});
  CHECK(arity.type == ReplyType::Error);
  CHECK(arity.str.find("wrong number of arguments") != std::string::npos);
  CHECK(c.cmd({"SET", "u:1", "v"}) == status("OK"));
  CHECK(c.cmd({"GET", "u:1"}) == bulk("v"));

  // Pipelined: the error takes its place in line, nothing is lost around it.
  c.append({"SET", "u:2", "x"});
  c.append({"NOSUCHTHING"});
  c.append({"GET", "u:2"});
  CHECK(c.getReply() == status("OK"));
  CHECK(c.getReply().type == ReplyType::Error);
  CHECK(c.getReply() == bulk("x"));
}

TEST_CASE("proxy: MGET across shards returns the values or a clean error", "[proxy][multikey]") {
  ShardedCluster cluster;
  Client c = cluster.client();
  std::vector<std::string> keys;
  for (size_t s = 0; s < 3; ++s) keys.push_back(cluster.keyOnShard(s, "mk:"));
  for (const auto& k : keys) REQUIRE(c.cmd({"SET", k, "val-" + k}) == status("OK"));

  Reply mget = c.cmd({"MGET", keys[0], keys[1], "mk:absent", keys[2]});
  INFO("MGET across shards replied " << mget);
  if (mget.type == ReplyType::Array) {
    REQUIRE(mget.elements.size() == 4);
    CHECK(mget.elements[0] == bulk("val-" + keys[0]));
    CHECK(mget.elements[1] == bulk("val-" + keys[1]));
    CHECK(mget.elements[2] == nil());
    CHECK(mget.elements[3] == bulk("val-" + keys[2]));
  } else {
    CHECK(mget.type == ReplyType::Error);
    CHECK_FALSE(mget.str.empty());
  }
  CHECK(c.cmd({"PING"}) == status("PONG"));
  CHECK(c.cmd({"GET", keys[1]}) == bulk("val-" + keys[1]));
  requirePlacement(cluster, keys);
}

TEST_CASE("proxy: DEL, EXISTS and MGET work on one key and on keys sharing a hash tag",
          "[proxy][multikey]") {
  ShardedCluster cluster;
  Client c = cluster.client();
  CHECK(c.cmd({"SET", "d:1", "v"}) == status("OK"));
  CHECK(c.cmd({"EXISTS", "d:1"}) == integer(1));
  CHECK(c.cmd({"DEL", "d:1"}) == integer(1));
  CHECK(c.cmd({"EXISTS", "d:1"}) == integer(0));
  CHECK(c.cmd({"MGET", "d:2"}) == array({nil()}));

  // Keys sharing a hash tag live on one shard (the proxy's documented way to use MGET,
  // MSET, DEL... across keys), so multi-key commands on them must work.
  CHECK(c.cmd({"SET", "{tag}:a", "1"}) == status("OK"));
  CHECK(c.cmd({"SET", "{tag}:b", "2"}) == status("OK"));
  CHECK(c.cmd({"MGET", "{tag}:a", "{tag}:b", "{tag}:c"}) == array({bulk("1"), bulk("2"), nil()}));
  CHECK(c.cmd({"EXISTS", "{tag}:a", "{tag}:b", "{tag}:c"}) == integer(2));
  requirePlacement(cluster, {"{tag}:a", "{tag}:b"});
  CHECK(c.cmd({"DEL", "{tag}:a", "{tag}:b"}) == integer(2));
  CHECK(c.cmd({"EXISTS", "{tag}:a"}) == integer(0));
  CHECK(c.cmd({"PING"}) == status("PONG"));
}

// One client's share of the concurrency test: pipelined SETs then GETs of its own keys.
// Returns the first wrong reply ("" when all were right). Runs on its own thread.
std::string runPipelinedClient(const ShardedCluster& cluster, int t, int ops) {
  try {
    Client c = cluster.client(15000ms);
    for (int i = 0; i < ops; ++i) c.append({"SET", cat("cc:", t, ":", i), cat(t, "/", i)});
    for (int i = 0; i < ops; ++i) c.append({"GET", cat("cc:", t, ":", i)});
    for (int i = 0; i < ops; ++i) {
      Reply r = c.getReply();
      if (!r.isStatus("OK")) return cat("SET #", i, ": ", r);
    }
    for (int i = 0; i < ops; ++i) {
      Reply r = c.getReply();
      if (!r.isString(cat(t, "/", i))) return cat("GET #", i, ": ", r);
    }
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

TEST_CASE("proxy: concurrent pipelined clients each get their own replies", "[proxy]") {
  ShardedCluster cluster;
  constexpr int kClients = 4, kOps = 2000;
  std::vector<std::string> errors(kClients);
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] { errors[t] = runPipelinedClient(cluster, t, kOps); });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kClients; ++t) {
    INFO("client " << t);
    CHECK(errors[t] == "");
  }
  CHECK(cluster.proxy().stop() == 0);
}

TEST_CASE("proxy: metrics endpoint serves Prometheus text", "[proxy][metrics]") {
  ShardedCluster cluster;
  Client c = cluster.client();
  CHECK(c.cmd({"SET", "m:1", "v"}) == status("OK"));
  HttpResponse r = httpGet(cluster.proxy().metricsPort(), "/metrics");
  INFO("headers: " << r.headers);
  CHECK(r.status == 200);
  CHECK(r.body.find("# TYPE") != std::string::npos);
}

TEST_CASE("proxy: SIGTERM with clients connected exits 0", "[proxy]") {
  ShardedCluster cluster;
  Client c = cluster.client();
  CHECK(c.cmd({"SET", "t:1", "v"}) == status("OK"));
  auto start = std::chrono::steady_clock::now();
  int code = cluster.proxy().stop();
  CHECK(code == 0);
  CHECK(elapsedMs(start) < 5000);
}
