// The L1 cache end to end (README "L1 cache and hot keys"): real redis-server shards, real
// ringproxy processes with `cache: {enabled: true, admit: all}`, real clients. What is
// checked is the coherence promise, never a timing: a write by anyone else is seen once its
// invalidation arrived (bounded polls), a write through the proxy at once, a lost
// subscriber or a restarted shard never leaves a stale value behind, and the byte budget
// holds. Every test first proves that a read really was answered from the cache
// (cache_hits rose across it), so a cache that never caches cannot pass.
// Owns: nothing shared (each TEST_CASE has its own shards and proxies).
// Run by: ctest as "e2e: cache: ..." (tag [cache]).
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/commands_e2e.h"
#include "tests/integration/migration_e2e.h"
#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

// Bound of every poll: invalidations take well under a millisecond on loopback and a
// subscriber reconnects within its first backoffs; CI machines are slow.
constexpr std::chrono::milliseconds kBound = 5s;

// Two workers, no membership records, every cacheable read admitted. `metrics` only where a
// test reads /metrics (stopping the metrics listener can be slow: see commands_e2e.h).
ProxyOptions cacheOptions(bool metrics, const std::string& cacheExtra = "") {
  ProxyOptions o;
  o.threads = 2;
  o.metrics = metrics;
  o.extraYaml = "cluster:\n  enabled: false\ncache:\n  enabled: true\n  admit: all\n" + cacheExtra;
  return o;
}

// One proxy's INFO cache, read on a connection of its own (so it never sits between the
// commands a test pipelines).
class CacheInfo {
 public:
  explicit CacheInfo(const Proxy& p) : admin_(p.client()) {}
  // The integer value of `field` (cache_hits, cache_bytes...); -1 when absent.
  long long get(const std::string& field) {
    const Reply r = admin_.cmd({"INFO", "cache"});
    return r.type == ReplyType::String ? cmdtest::infoField(r.str, field) : -1;
  }
  long long hits() { return get("cache_hits"); }
  // N of "cache_subscribers_up:N/M".
  long long subscribersUp() { return get("cache_subscribers_up"); }

 private:
  Client admin_;
};

std::string describe(const std::vector<std::string>& cmd) {
  std::string out;
  for (const auto& a : cmd) out += (out.empty() ? "" : " ") + a;
  return out;
}

// Repeats `cmd` on `c` until one repetition is answered from the L1 cache (cache_hits rose
// across it; nothing else runs on this proxy meanwhile). Every reply must be `expected`.
// The first call for a shard also waits for its subscriber and tracking to be in place.
bool cachedRead(Client& c, CacheInfo& info, const std::vector<std::string>& cmd,
                const Reply& expected) {
  Reply last;
  const bool hit = waitUntil(
      [&] {
        const long long before = info.hits();
        last = c.cmd(cmd);
        return !(last == expected) || info.hits() > before;
      },
      kBound, 10ms);
  UNSCOPED_INFO(describe(cmd) << " -> " << last << (hit ? "" : " (never a cache hit)"));
  return hit && last == expected;
}

// Polls `cmd` on `c` until it answers `expected` (bounded), then asks 5 more times: a
// value once seen must stay (no going back to the old one).
bool seenAndKept(Client& c, const std::vector<std::string>& cmd, const Reply& expected) {
  Reply last;
  const bool seen = waitUntil([&] { return (last = c.cmd(cmd)) == expected; }, kBound, 5ms);
  int kept = 0;
  for (int i = 0; i < 5 && seen; ++i) kept += (last = c.cmd(cmd)) == expected ? 1 : 0;
  UNSCOPED_INFO(describe(cmd) << " -> " << last << " (seen " << seen << ", kept " << kept
                              << "/5, expected " << expected << ")");
  return seen && kept == 5;
}

// ringproxy_cache_flushes_total{shard, reason}; -1 when /metrics does not answer. A series
// not exported yet counts as 0.
double flushes(const Proxy& p, const std::string& shard, const std::string& reason) {
  const HttpResponse r = httpGet(p.metricsPort(), "/metrics");
  if (r.status != 200) return -1;
  const std::string name = "ringproxy_cache_flushes_total{";
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) == 0 && line.find("shard=\"" + shard + "\"") != std::string::npos &&
        line.find("reason=\"" + reason + "\"") != std::string::npos) {
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return 0;
}

}  // namespace

TEST_CASE("cache: a value changed on the shard directly is seen through both proxies, a write through one at once",
          "[cache]") {
  ShardedCluster cluster(cacheOptions(false));
  Proxy proxyB(cluster.dir(), cluster.proxy().options(), "ringproxy-b");
  CacheInfo infoA(cluster.proxy()), infoB(proxyB);
  // Three connections to A (spread over its two workers), one to B.
  std::vector<Client> a;
  for (int i = 0; i < 3; ++i) a.push_back(cluster.client());
  Client b = proxyB.client();
  const std::string k = cluster.keyOnShard(1, "c1:");
  Client direct = cluster.shard(1).client();

  REQUIRE(a[0].cmd({"SET", k, "v1"}) == status("OK"));
  REQUIRE(cachedRead(a[0], infoA, {"GET", k}, bulk("v1")));
  REQUIRE(cachedRead(b, infoB, {"GET", k}, bulk("v1")));

  // A foreign write: both proxies drop their copy when the invalidation arrives.
  REQUIRE(direct.cmd({"SET", k, "v2"}) == status("OK"));
  CHECK(seenAndKept(a[0], {"GET", k}, bulk("v2")));
  CHECK(seenAndKept(b, {"GET", k}, bulk("v2")));

  // Cached again everywhere, then written through A: every connection of A sees it at the
  // very next read (no poll), B once the invalidation arrives.
  for (auto& c : a) REQUIRE(cachedRead(c, infoA, {"GET", k}, bulk("v2")));
  REQUIRE(cachedRead(b, infoB, {"GET", k}, bulk("v2")));
  REQUIRE(a[0].cmd({"SET", k, "v3"}) == status("OK"));
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("connection " << i << " of proxy A");
    CHECK(a[i].cmd({"GET", k}) == bulk("v3"));
  }
  for (auto& c : a) REQUIRE(cachedRead(c, infoA, {"GET", k}, bulk("v3")));
  REQUIRE(a[1].cmd({"SET", k, "v3b"}) == status("OK"));
  for (auto& c : a) CHECK(c.cmd({"MGET", k}) == array({bulk("v3b")}));  // MGET uses GET entries
  CHECK(seenAndKept(b, {"GET", k}, bulk("v3b")));
  // And the other way round: B writes, A (all connections) follows.
  REQUIRE(b.cmd({"SET", k, "v4"}) == status("OK"));
  CHECK(b.cmd({"GET", k}) == bulk("v4"));
  for (auto& c : a) CHECK(seenAndKept(c, {"GET", k}, bulk("v4")));
}

TEST_CASE("cache: hashes lists sets and sorted sets follow direct writes and MGET mixes cached and fetched keys",
          "[cache]") {
  ShardedCluster cluster(cacheOptions(false));
  CacheInfo info(cluster.proxy());
  Client c = cluster.client();
  Client direct = cluster.shard(2).client();
  const std::string h = cluster.keyOnShard(2, "c2:h:"), l = cluster.keyOnShard(2, "c2:l:"),
                    s = cluster.keyOnShard(2, "c2:s:"), z = cluster.keyOnShard(2, "c2:z:");
  REQUIRE(c.cmd({"HSET", h, "f", "1", "g", "2"}) == integer(2));
  REQUIRE(c.cmd({"RPUSH", l, "a", "b"}) == integer(2));
  REQUIRE(c.cmd({"SADD", s, "m1"}) == integer(1));
  REQUIRE(c.cmd({"ZADD", z, "1.5", "m"}) == integer(1));

  const std::vector<std::string> hget{"HGET", h, "f"}, hgetall{"HGETALL", h},
      lrange{"LRANGE", l, "0", "-1"}, smembers{"SMEMBERS", s}, zscore{"ZSCORE", z, "m"};
  REQUIRE(cachedRead(c, info, hget, bulk("1")));
  REQUIRE(cachedRead(c, info, hgetall, array({bulk("f"), bulk("1"), bulk("g"), bulk("2")})));
  REQUIRE(cachedRead(c, info, lrange, array({bulk("a"), bulk("b")})));
  REQUIRE(cachedRead(c, info, smembers, array({bulk("m1")})));
  REQUIRE(cachedRead(c, info, zscore, bulk("1.5")));

  REQUIRE(direct.cmd({"HSET", h, "f", "10"}) == integer(0));
  REQUIRE(direct.cmd({"RPUSH", l, "c"}) == integer(3));
  REQUIRE(direct.cmd({"SADD", s, "m2"}) == integer(1));
  REQUIRE(direct.cmd({"ZADD", z, "7", "m"}) == integer(0));
  CHECK(seenAndKept(c, hget, bulk("10")));
  CHECK(seenAndKept(c, hgetall, array({bulk("f"), bulk("10"), bulk("g"), bulk("2")})));
  CHECK(seenAndKept(c, lrange, array({bulk("a"), bulk("b"), bulk("c")})));
  CHECK(seenAndKept(c, smembers, direct.cmd(smembers)));  // the shard's own member order
  CHECK(c.cmd(smembers).elements.size() == 2);
  CHECK(seenAndKept(c, zscore, bulk("7")));

  // MGET over all three shards: two keys per shard, the first of each cached by GET.
  std::vector<std::string> keys;
  for (size_t sh = 0; sh < cluster.shardCount(); ++sh) {
    for (const auto& k : cluster.keysOnShard(sh, cat("c2:m", sh, ":"), 2)) keys.push_back(k);
  }
  for (const auto& k : keys) REQUIRE(c.cmd({"SET", k, "val:" + k}) == status("OK"));
  for (size_t i = 0; i < keys.size(); i += 2) {
    REQUIRE(cachedRead(c, info, {"GET", keys[i]}, bulk("val:" + keys[i])));
  }
  const std::string missing = cluster.keyOnShard(0, "c2:missing:");
  std::vector<std::string> mget{"MGET", keys[5], missing};
  std::vector<Reply> want{bulk("val:" + keys[5]), nil()};
  for (size_t i = 0; i < 5; ++i) {  // interleaved: cached, fetched, cached...
    mget.push_back(keys[i]);
    want.push_back(bulk("val:" + keys[i]));
  }
  const long long before = info.hits();
  CHECK(c.cmd(mget) == array(want));
  CHECK(info.hits() - before == 3);  // keys[0], keys[2], keys[4]
  // Only cached keys: answered whole from the cache.
  const long long beforeAll = info.hits();
  CHECK(c.cmd({"MGET", keys[4], keys[0], keys[2]}) ==
        array({bulk("val:" + keys[4]), bulk("val:" + keys[0]), bulk("val:" + keys[2])}));
  CHECK(info.hits() - beforeAll == 3);
  // A cached key changed directly: MGET follows the invalidation too.
  REQUIRE(cluster.shard(0).client().cmd({"SET", keys[0], "new"}) == status("OK"));
  CHECK(seenAndKept(c, {"MGET", keys[0], keys[2]}, array({bulk("new"), bulk("val:" + keys[2])})));

  // FLUSHALL on the shard directly (a null invalidation): nothing of it is served any more.
  REQUIRE(direct.cmd({"FLUSHALL"}) == status("OK"));
  CHECK(seenAndKept(c, hget, nil()));
  CHECK(seenAndKept(c, lrange, array({})));
  CHECK(seenAndKept(c, zscore, nil()));
}

TEST_CASE("cache: a killed invalidation subscriber or data connection flushes the shard and misses no write made meanwhile",
          "[cache]") {
  ShardedCluster cluster(cacheOptions(true));
  CacheInfo info(cluster.proxy());
  Client c = cluster.client();
  const std::string k = cluster.keyOnShard(1, "c3:");
  const std::string other = cluster.keyOnShard(0, "c3:");
  Client direct = cluster.shard(1).client();
  REQUIRE(c.cmd({"SET", k, "v1"}) == status("OK"));
  REQUIRE(c.cmd({"SET", other, "o1"}) == status("OK"));
  REQUIRE(cachedRead(c, info, {"GET", k}, bulk("v1")));
  REQUIRE(cachedRead(c, info, {"GET", other}, bulk("o1")));
  REQUIRE(info.subscribersUp() == 3);
  const double lostBefore = flushes(cluster.proxy(), "s2", "subscriber_lost");
  REQUIRE(lostBefore >= 0);

  // Kill the subscriber, then write at once, while the proxy may not even know yet.
  const Reply killed = direct.cmd({"CLIENT", "KILL", "TYPE", "pubsub"});
  REQUIRE(killed.type == ReplyType::Integer);
  REQUIRE(killed.integer >= 1);
  REQUIRE(direct.cmd({"SET", k, "v2"}) == status("OK"));

  double lostAfter = lostBefore;
  CHECK(waitUntil([&] { return (lostAfter = flushes(cluster.proxy(), "s2", "subscriber_lost")) > lostBefore; },
                  kBound));
  INFO("subscriber_lost flushes of s2: " << lostBefore << " -> " << lostAfter);
  CHECK(flushes(cluster.proxy(), "s1", "subscriber_lost") == 0);  // only s2's subscriber died
  REQUIRE(waitUntil([&] { return info.subscribersUp() == 3; }, kBound));
  // Acknowledged before the subscriber came back: the very next read has it.
  CHECK(c.cmd({"GET", k}) == bulk("v2"));
  CHECK(c.cmd({"GET", other}) == bulk("o1"));

  // Caching of s2 resumes, and the new subscriber's invalidations work.
  REQUIRE(cachedRead(c, info, {"GET", k}, bulk("v2")));
  REQUIRE(direct.cmd({"SET", k, "v3"}) == status("OK"));
  CHECK(seenAndKept(c, {"GET", k}, bulk("v3")));
  REQUIRE(cachedRead(c, info, {"GET", k}, bulk("v3")));

  // The same for the data connections (their tracking dies with them): one per worker.
  const double droppedBefore = flushes(cluster.proxy(), "s2", "connection_lost");
  const Reply dropped = direct.cmd({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  REQUIRE(dropped.type == ReplyType::Integer);
  REQUIRE(dropped.integer >= 2);
  REQUIRE(direct.cmd({"SET", k, "v4"}) == status("OK"));
  CHECK(waitUntil([&] { return flushes(cluster.proxy(), "s2", "connection_lost") >= droppedBefore + 2; },
                  kBound));
  CHECK(seenAndKept(c, {"GET", k}, bulk("v4")));
  REQUIRE(cachedRead(c, info, {"GET", k}, bulk("v4")));
}

TEST_CASE("cache: a restarted shard never serves its pre-restart values", "[cache]") {
  ShardedCluster cluster(cacheOptions(false));
  CacheInfo info(cluster.proxy());
  Client c = cluster.client();
  RedisServer& victim = cluster.shard(1);
  const auto keys = cluster.keysOnShard(1, "c4:", 2);
  const std::string& rewritten = keys[0];  // set to "new" on the restarted shard
  const std::string& lost = keys[1];       // simply gone after the restart (no persistence)
  REQUIRE(c.cmd({"SET", rewritten, "old"}) == status("OK"));
  REQUIRE(c.cmd({"SET", lost, "old"}) == status("OK"));
  REQUIRE(cachedRead(c, info, {"GET", rewritten}, bulk("old")));
  REQUIRE(cachedRead(c, info, {"GET", lost}, bulk("old")));

  // A reader on another connection all along; each reply is kept with whether its request
  // was sent after the restarted shard was up ("old" is then wrong).
  std::atomic<bool> restarted{false}, stop{false};
  std::vector<std::string> staleReads;
  size_t readsAfter = 0;
  std::thread reader([&] {
    std::optional<Client> r;
    while (!stop) {
      if (!r || !r->ok()) r = Client::tryConnect(cluster.proxy().port());
      if (!r) continue;
      for (const auto& k : keys) {
        const bool after = restarted;
        const Reply got = r->cmd({"GET", k});
        readsAfter += after ? 1 : 0;
        if (after && got == bulk("old") && staleReads.size() < 10) staleReads.push_back(k);
      }
    }
  });
  // A failed REQUIRE below must not leave the thread joinable (std::terminate).
  struct StopReader {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~StopReader() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } stopReader{stop, reader};

  Client(victim.port()).cmd({"SHUTDOWN", "NOSAVE"});  // the connection drops: no reply
  REQUIRE(waitUntil([&] { return !victim.process().running(); }, kBound));
  victim.restart();
  restarted = true;
  REQUIRE(victim.client().cmd({"SET", rewritten, "new"}) == status("OK"));

  // Errors while the proxy reconnects are fine; a value must be the new one (or none).
  Reply r1, r2;
  const bool back = waitUntil(
      [&] {
        if (!c.ok()) c.reconnect();
        r1 = c.cmd({"GET", rewritten});
        r2 = c.cmd({"GET", lost});
        CHECK_FALSE(r1 == bulk("old"));
        CHECK_FALSE(r2 == bulk("old"));
        return !r1.isError() && !r2.isError();
      },
      kBound, 20ms);
  INFO("after the restart: GET " << rewritten << " -> " << r1 << ", GET " << lost << " -> " << r2);
  CHECK(back);
  CHECK(r1 == bulk("new"));
  CHECK(r2 == nil());
  // Caching of the restarted shard comes back, coherent with it.
  CHECK(cachedRead(c, info, {"GET", rewritten}, bulk("new")));
  REQUIRE(victim.client().cmd({"SET", rewritten, "newer"}) == status("OK"));
  CHECK(seenAndKept(c, {"GET", rewritten}, bulk("newer")));

  stop = true;
  reader.join();
  INFO("reader: " << readsAfter << " reads sent after the restart, stale: " << staleReads.size());
  CHECK(readsAfter > 0);
  CHECK(staleReads.empty());
}

TEST_CASE("cache: the byte budget holds under a larger workload and oversize values are never cached",
          "[cache]") {
  constexpr long long kMaxMemory = 2 << 20;
  ShardedCluster cluster(cacheOptions(true, "  max_memory: 2MiB\n  max_value_bytes: 1KiB\n"));
  CacheInfo info(cluster.proxy());
  // Four connections over the two workers; caching must be on for every shard on each.
  std::vector<Client> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(cluster.client(20000ms));
  for (size_t i = 0; i < clients.size(); ++i) {
    for (size_t sh = 0; sh < cluster.shardCount(); ++sh) {
      const std::string probe = cluster.keyOnShard(sh, cat("c5:probe", i, ":"));
      REQUIRE(clients[i].cmd({"SET", probe, "p"}) == status("OK"));
      REQUIRE(cachedRead(clients[i], info, {"GET", probe}, bulk("p")));
    }
  }

  // 20000 keys of 900 bytes (under max_value_bytes with the reply's framing), each read
  // three times (a read is filled from its second on, so the third can hit); ~18 MiB of
  // values against a 2 MiB budget. cache_bytes is sampled after every batch.
  constexpr size_t kKeys = 20000, kBatch = 500;
  const auto valueOf = [](size_t i) {
    std::string v = cat("value-", i, "-");
    v.resize(900, static_cast<char>('a' + i % 26));
    return v;
  };
  long long maxSeen = 0, samples = 0;
  size_t wrong = 0;
  const long long hitsBefore = info.hits();
  for (size_t from = 0; from < kKeys; from += kBatch) {
    Client& c = clients[(from / kBatch) % clients.size()];
    for (size_t i = from; i < from + kBatch; ++i) c.append({"SET", cat("c5:k", i), valueOf(i)});
    for (size_t i = from; i < from + kBatch; ++i) wrong += c.getReply() == status("OK") ? 0 : 1;
    for (int round = 0; round < 3; ++round) {
      for (size_t i = from; i < from + kBatch; ++i) c.append({"GET", cat("c5:k", i)});
      for (size_t i = from; i < from + kBatch; ++i) wrong += c.getReply() == bulk(valueOf(i)) ? 0 : 1;
    }
    const double bytes = migration::metricSum(cluster.proxy().metricsPort(), "ringproxy_cache_bytes");
    maxSeen = std::max(maxSeen, static_cast<long long>(bytes));
    samples += bytes >= 0 ? 1 : 0;
  }
  const long long endBytes = info.get("cache_bytes");
  const double evictions = migration::metricSum(cluster.proxy().metricsPort(), "ringproxy_cache_evictions_total");
  INFO("cache_bytes: max sampled " << maxSeen << " over " << samples << " samples, at the end " << endBytes
                                   << "; evictions " << evictions << "; hits " << info.hits() - hitsBefore
                                   << "; entries " << info.get("cache_entries"));
  CHECK(wrong == 0);
  CHECK(samples == static_cast<long long>(kKeys / kBatch));
  CHECK(maxSeen <= kMaxMemory);
  CHECK(endBytes <= kMaxMemory);
  CHECK(endBytes > kMaxMemory / 4);  // the budget is really used
  CHECK(evictions > 0);
  CHECK(info.get("cache_evictions") == static_cast<long long>(evictions));
  CHECK(info.hits() - hitsBefore > 0);

  // A 4 KiB value is above max_value_bytes: never cached; a small key still is.
  Client& c = clients[0];
  const std::string big(4096, 'B');
  const std::string bigKey = cluster.keyOnShard(0, "c5:big:"), smallKey = cluster.keyOnShard(0, "c5:small:");
  REQUIRE(c.cmd({"SET", bigKey, big}) == status("OK"));
  REQUIRE(c.cmd({"SET", smallKey, "s"}) == status("OK"));
  const long long bigBefore = info.hits();
  for (int i = 0; i < 10; ++i) CHECK(c.cmd({"GET", bigKey}) == bulk(big));
  CHECK(info.hits() == bigBefore);
  CHECK(cachedRead(c, info, {"GET", smallKey}, bulk("s")));
}

TEST_CASE("cache: a write pipelined before a read of a cached key is read back by that read", "[cache]") {
  ShardedCluster cluster(cacheOptions(false));
  CacheInfo info(cluster.proxy());
  Client c = cluster.client();
  using Cmd = std::vector<std::string>;
  struct Case {
    std::vector<Cmd> setup;  // through the proxy, before the read is cached
    Cmd read;                // cached first, then pipelined right behind `writes`
    std::vector<Cmd> writes;
    Reply expected;          // what the read must answer behind the writes
  };
  const std::string k = cluster.keyOnShard(0, "c6:"), other = cluster.keyOnShard(1, "c6:");
  const std::string eval = "return redis.call('SET', KEYS[1], ARGV[1])";
  const std::vector<Case> cases{
      {{{"SET", k, "v1"}}, {"GET", k}, {{"SET", k, "v2"}}, bulk("v2")},
      {{}, {"GET", k}, {{"APPEND", k, "+"}}, bulk("v2+")},
      {{}, {"STRLEN", k}, {{"SET", k, "abcd"}}, integer(4)},
      {{}, {"GET", k}, {{"MSET", other, "o", k, "v3"}}, bulk("v3")},
      {{}, {"GET", k}, {{"MULTI"}, {"SET", k, "v4"}, {"EXEC"}}, bulk("v4")},
      {{}, {"GET", k}, {{"EVAL", eval, "1", k, "v5"}}, bulk("v5")},
      {{}, {"GET", k}, {{"WATCH", k}, {"SET", k, "v6"}, {"UNWATCH"}}, bulk("v6")},
      {{}, {"GET", k}, {{"GETDEL", k}}, nil()},
      {{{"HSET", "{c6}h", "f", "1"}}, {"HGET", "{c6}h", "f"}, {{"HINCRBY", "{c6}h", "f", "5"}}, bulk("6")},
      {{{"SET", "{c6}src", "s"}, {"SET", "{c6}dst", "d"}}, {"GET", "{c6}dst"},
       {{"RENAME", "{c6}src", "{c6}dst"}}, bulk("s")},
      {{{"SET", "{c6}src", "t"}}, {"GET", "{c6}dst"}, {{"COPY", "{c6}src", "{c6}dst", "REPLACE"}}, bulk("t")},
      {{{"RPUSH", "{c6}list", "b", "a"}, {"RPUSH", "{c6}sorted", "x"}}, {"LRANGE", "{c6}sorted", "0", "-1"},
       {{"SORT", "{c6}list", "ALPHA", "STORE", "{c6}sorted"}}, array({bulk("a"), bulk("b")})},
      {{{"RPUSH", "{c6}l2", "y"}}, {"LRANGE", "{c6}l2", "0", "-1"},
       {{"LMOVE", "{c6}list", "{c6}l2", "LEFT", "RIGHT"}}, array({bulk("y"), bulk("b")})},
      {{{"RPUSH", "{c6}bl", "p", "q"}}, {"LRANGE", "{c6}bl", "0", "-1"}, {{"BLPOP", "{c6}bl", "1"}},
       array({bulk("q")})},
      {{}, {"LRANGE", "{c6}l2", "0", "-1"}, {{"BLMOVE", "{c6}bl", "{c6}l2", "LEFT", "LEFT", "1"}},
       array({bulk("q"), bulk("y"), bulk("b")})},
      {{{"SET", "{c6}bits", "a"}, {"SET", "{c6}or", "\x01"}}, {"GET", "{c6}or"},
       {{"BITOP", "OR", "{c6}or", "{c6}bits"}}, bulk("a")},
      {{{"ZADD", "{c6}z", "1", "m"}, {"ZADD", "{c6}zu", "9", "old"}}, {"ZRANGE", "{c6}zu", "0", "-1"},
       {{"ZUNIONSTORE", "{c6}zu", "1", "{c6}z"}}, array({bulk("m")})},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& t = cases[i];
    INFO("case " << i << ": " << describe(t.read) << " behind " << describe(t.writes.back()));
    for (const auto& cmd : t.setup) REQUIRE_FALSE(c.cmd(cmd).isError());
    const Reply before = c.cmd(t.read);
    REQUIRE_FALSE(before == t.expected);  // the write must change what the read answers
    REQUIRE(cachedRead(c, info, t.read, before));
    for (const auto& cmd : t.writes) c.append(cmd);
    c.append(t.read);
    for (const auto& cmd : t.writes) {
      const Reply r = c.getReply();
      INFO(describe(cmd) << " -> " << r);
      CHECK_FALSE(r.isError());
    }
    CHECK(c.getReply() == t.expected);
    CHECK(c.cmd(t.read) == t.expected);
  }
  // MGET answers from GET entries: a cached one behind a write, with a key of another shard.
  REQUIRE(c.cmd({"SET", k, "m1"}) == status("OK"));
  REQUIRE(cachedRead(c, info, {"GET", k}, bulk("m1")));
  c.append({"SET", k, "m2"});
  c.append({"MGET", k, other});
  CHECK(c.getReply() == status("OK"));
  CHECK(c.getReply() == array({bulk("m2"), bulk("o")}));
}
