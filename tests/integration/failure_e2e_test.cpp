// ringproxy when a shard dies (SIGKILL) or hangs (SIGSTOP): requests for that shard get an
// error reply within backend.timeout_ms (+1.5 s slack), a blocking one too, the other
// shards keep serving, and once the shard is back (restart on the same port / SIGCONT) its
// keys work again without restarting the proxy — and with no stale reply delivered to the
// wrong request.
// Owns: nothing shared (each TEST_CASE has its own ShardedCluster).
// Run by: ctest as "e2e: failure: ...".
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t kTimeoutMs = 1000;
constexpr long long kErrorBoundMs = kTimeoutMs + 1500;
constexpr size_t kVictim = 1;  // shard index s2

ProxyOptions failureOptions() {
  ProxyOptions o;
  o.timeoutMs = kTimeoutMs;
  o.connectTimeoutMs = 500;
  return o;
}

// Five keys per shard, written through the proxy with value "v:<key>".
std::vector<std::vector<std::string>> seedKeys(ShardedCluster& cluster, Client& c) {
  std::vector<std::vector<std::string>> keys;
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    keys.push_back(cluster.keysOnShard(s, cat("f", s, ":"), 5));
    for (const auto& k : keys.back()) REQUIRE(c.cmd({"SET", k, "v:" + k}) == status("OK"));
  }
  return keys;
}

// One command, timed. The client's own timeout (5 s) is far above the proxy's.
Reply timed(Client& c, const std::vector<std::string>& cmd, long long& ms) {
  auto start = std::chrono::steady_clock::now();
  Reply r = c.cmd(cmd);
  ms = elapsedMs(start);
  return r;
}

// Every seeded key on the healthy shards still reads back its own value.
void checkHealthyShards(Client& c, const std::vector<std::vector<std::string>>& keys) {
  for (size_t s = 0; s < keys.size(); ++s) {
    if (s == kVictim) continue;
    for (const auto& k : keys[s]) {
      long long ms = 0;
      Reply r = timed(c, {"GET", k}, ms);
      INFO("GET " << k << " (shard s" << s + 1 << ") -> " << r << " in " << ms << " ms");
      CHECK(r == bulk("v:" + k));
      CHECK(ms < 500);
    }
  }
}

// Requests for the victim's keys must come back as error replies (not a dropped
// connection, not a hang) within the bound.
void checkVictimErrors(Client& c, const std::vector<std::string>& victimKeys) {
  for (const auto& k : {victimKeys[0], victimKeys[1]}) {
    long long ms = 0;
    Reply r = timed(c, {"GET", k}, ms);
    INFO("GET " << k << " on the failed shard -> " << r << " in " << ms << " ms");
    CHECK(r.type == ReplyType::Error);
    CHECK(ms < kErrorBoundMs);
  }
  long long ms = 0;
  Reply r = timed(c, {"SET", victimKeys[2], "new"}, ms);
  INFO("SET " << victimKeys[2] << " on the failed shard -> " << r << " in " << ms << " ms");
  CHECK(r.type == ReplyType::Error);
  CHECK(ms < kErrorBoundMs);
}

// Polls (<= 10 s) until GET on `key` stops failing; returns how long it took, -1 if never.
long long waitForRecovery(Client& c, const std::string& key) {
  auto start = std::chrono::steady_clock::now();
  bool ok = waitUntil(
      [&] {
        if (!c.ok()) c.reconnect();
        return !c.cmd({"GET", key}).isError();
      },
      10000ms, 50ms);
  return ok ? elapsedMs(start) : -1;
}

// After SIGCONT the shard answers the requests it queued while stopped; none of those late
// replies may reach a later request. Key index 2 got a SET that may or may not have been
// applied, so only indexes 0, 1, 3, 4 are compared.
void checkNoStaleReplies(Client& c, const std::vector<std::vector<std::string>>& keys) {
  const auto& victimKeys = keys[kVictim];
  const size_t settled[] = {0, 1, 3, 4};
  for (size_t i : settled) {
    INFO("key " << victimKeys[i]);
    CHECK(c.cmd({"GET", victimKeys[i]}) == bulk("v:" + victimKeys[i]));
  }
  std::vector<std::string> all;
  for (int round = 0; round < 20; ++round) {
    for (size_t s = 0; s < keys.size(); ++s) all.push_back(keys[s][settled[round % 4]]);
  }
  for (const auto& k : all) c.append({"GET", k});
  size_t wrong = 0;
  for (const auto& k : all) {
    Reply r = c.getReply();
    if (r.isString("v:" + k)) continue;
    if (++wrong <= 5) UNSCOPED_INFO("pipelined GET " << k << " -> " << r);
  }
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("failure: a SIGKILLed shard errors fast, others serve, restart recovers",
          "[failure]") {
  ShardedCluster cluster(failureOptions());
  Client c = cluster.client(5000ms);
  auto keys = seedKeys(cluster, c);
  pid_t proxyPid = cluster.proxy().process().pid();

  cluster.shard(kVictim).kill(SIGKILL);
  REQUIRE(waitUntil([&] { return !cluster.shard(kVictim).process().running(); }, 2000ms));

  checkVictimErrors(c, keys[kVictim]);
  REQUIRE(c.ok());  // errors came as replies on a live connection
  // A blocking command gets an error as fast, although it waits for its own connection's
  // CLIENT ID first (that connection fails too: it must not be replaced by a new one that
  // fails again, and so on, with the client never answered).
  long long blpopMs = 0;
  Reply blpop = timed(c, {"BLPOP", cluster.keysOnShard(kVictim, "fq:", 1)[0], "0"}, blpopMs);
  INFO("BLPOP on the failed shard -> " << blpop << " in " << blpopMs << " ms");
  CHECK(blpop.type == ReplyType::Error);
  CHECK(blpopMs < kErrorBoundMs);
  REQUIRE(c.ok());
  checkHealthyShards(c, keys);
  CHECK(c.cmd({"PING"}) == status("PONG"));

  cluster.shard(kVictim).restart();
  long long recoveredMs = waitForRecovery(c, keys[kVictim][0]);
  INFO("recovery after restart took " << recoveredMs << " ms");
  REQUIRE(recoveredMs >= 0);
  // The restarted shard is empty (no persistence); it must take new writes via the proxy.
  const std::string& k = keys[kVictim][0];
  CHECK(c.cmd({"GET", k}) == nil());
  CHECK(c.cmd({"SET", k, "again"}) == status("OK"));
  CHECK(c.cmd({"GET", k}) == bulk("again"));
  CHECK(cluster.shard(kVictim).client().cmd({"GET", k}) == bulk("again"));
  checkHealthyShards(c, keys);
  CHECK(cluster.proxy().process().running());
  CHECK(cluster.proxy().process().pid() == proxyPid);
  CHECK(cluster.proxy().stop() == 0);  // clean exit after all that
}

TEST_CASE("failure: a SIGSTOPped shard times out, others are not held up, SIGCONT recovers",
          "[failure]") {
  ShardedCluster cluster(failureOptions());
  Client c = cluster.client(5000ms);
  auto keys = seedKeys(cluster, c);
  const auto& victimKeys = keys[kVictim];
  std::string healthyKey = keys[0][0];

  cluster.shard(kVictim).kill(SIGSTOP);

  // A request stuck on the hung shard must not delay another client's requests.
  Client stuck = cluster.client(5000ms);
  auto stuckStart = std::chrono::steady_clock::now();
  stuck.append({"GET", victimKeys[0]});
  REQUIRE(stuck.flush());
  long long otherMs = 0;
  Reply other = timed(c, {"GET", healthyKey}, otherMs);
  CHECK(other == bulk("v:" + healthyKey));
  CHECK(otherMs < 500);
  Reply stuckReply = stuck.getReply();
  long long stuckMs = elapsedMs(stuckStart);
  INFO("GET on the stopped shard -> " << stuckReply << " after " << stuckMs << " ms");
  CHECK(stuckReply.type == ReplyType::Error);
  CHECK(stuckMs < kErrorBoundMs);
  CHECK(stuckMs >= kTimeoutMs / 2);  // it did wait for the shard, as configured

  checkVictimErrors(c, victimKeys);
  // In one pipeline, the hung shard's error and the healthy replies keep their order.
  c.append({"GET", victimKeys[3]});
  c.append({"GET", keys[0][1]});
  c.append({"GET", keys[2][1]});
  CHECK(c.getReply().type == ReplyType::Error);
  CHECK(c.getReply() == bulk("v:" + keys[0][1]));
  CHECK(c.getReply() == bulk("v:" + keys[2][1]));
  checkHealthyShards(c, keys);

  cluster.shard(kVictim).kill(SIGCONT);
  long long recoveredMs = waitForRecovery(c, victimKeys[4]);
  INFO("recovery after SIGCONT took " << recoveredMs << " ms");
  REQUIRE(recoveredMs >= 0);
  checkNoStaleReplies(c, keys);
  CHECK(cluster.proxy().process().running());
  CHECK(cluster.proxy().stop() == 0);  // clean exit after all that
}
