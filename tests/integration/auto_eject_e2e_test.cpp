// backend.auto_eject end to end (3 redis-server shards, a real ringproxy, small timings):
//   - on: a SIGKILLed shard is ejected after failure_limit failed probes; from then on its
//     keys are served by the other shards, exactly where the ring without it puts them,
//     with no error, and ringproxy_backend_ejected{shard} says 1. Restarted (with the
//     RDB it saved before the kill), it is back once it answers a probe from retry_ms
//     after the ejection: its keys route to it again, so the values written before the
//     kill read back from it (and the ones written during the ejection do not: the data
//     loss the README warns about);
//   - pub/sub follows the same routing; subscribers whose subscriptions no longer match it
//     after an ejection or a return are disconnected, so they resubscribe;
//   - off (the default): the killed shard's keys get errors and nothing is rerouted.
// Owns: nothing shared (each TEST_CASE has its own ShardedCluster).
// Run by: ctest as "e2e: auto_eject: ...".
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

constexpr size_t kVictim = 1;  // shard s2
constexpr uint32_t kProbeMs = 100;
constexpr uint32_t kFailureLimit = 2;
constexpr uint32_t kRetryMs = 1000;
constexpr size_t kKeysPerShard = 8;
const std::string kEjected = "ringproxy_backend_ejected{shard=\"s2\"}";
const std::string kEjections = "ringproxy_backend_ejections_total{shard=\"s2\"}";

ProxyOptions ejectOptions(bool on) {
  ProxyOptions o;
  o.timeoutMs = 1000;
  o.connectTimeoutMs = 300;
  if (on) {
    o.backendYaml = cat("  auto_eject:\n    enabled: true\n    failure_limit: ", kFailureLimit,
                        "\n    retry_ms: ", kRetryMs, "\n    probe_interval_ms: ", kProbeMs, "\n");
    o.extraYaml = "cluster:\n  enabled: false\n";  // auto_eject needs it off
  }
  return o;
}

// One sample of /metrics, -1 when the series is missing.
double metric(Proxy& p, const std::string& series) {
  const std::string body = httpGet(p.metricsPort(), "/metrics").body;
  const size_t at = body.find(series + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 1));
}

// kKeysPerShard keys per shard, written through the proxy as "v:<key>".
std::vector<std::vector<std::string>> seedKeys(ShardedCluster& cluster, Client& c) {
  std::vector<std::vector<std::string>> keys;
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    keys.push_back(cluster.keysOnShard(s, cat("ej", s, ":"), kKeysPerShard));
    for (const auto& k : keys.back()) REQUIRE(c.cmd({"SET", k, "v:" + k}) == status("OK"));
  }
  return keys;
}

// Which shard (index) holds `key`, asking each live shard directly; -1 if none, -2 if several.
int holder(ShardedCluster& cluster, const std::string& key, size_t skip) {
  int found = -1;
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    if (s == skip) continue;
    if (cluster.shard(s).client().cmd({"EXISTS", key}) != integer(1)) continue;
    found = found == -1 ? static_cast<int>(s) : -2;
  }
  return found;
}

// Three shards behind a proxy with auto_eject on or off, every shard holding seeded keys.
struct EjectSetup {
  explicit EjectSetup(bool on) : cluster(ejectOptions(on)), c(cluster.client(5000ms)), keys(seedKeys(cluster, c)) {}
  void killVictim() {
    cluster.shard(kVictim).kill(SIGKILL);
    REQUIRE(waitUntil([&] { return !cluster.shard(kVictim).process().running(); }, 2000ms));
  }

  ShardedCluster cluster;
  Proxy& proxy = cluster.proxy();
  Client c;
  const std::vector<std::vector<std::string>> keys;
  const std::vector<std::string>& victimKeys = keys[kVictim];
};

}  // namespace

TEST_CASE("auto_eject: a killed shard is ejected, its keys served by the others, and taken back",
          "[auto_eject]") {
  EjectSetup setup(true);
  auto& [cluster, proxy, c, keys, victimKeys] = setup;
  CHECK(metric(proxy, kEjected) == 0);
  CHECK(metric(proxy, kEjections) == 0);
  // Kept across the restart below: the keys written before the kill come back with it.
  REQUIRE(cluster.shard(kVictim).client().cmd({"SAVE"}) == status("OK"));

  setup.killVictim();
  const auto killedAt = std::chrono::steady_clock::now();
  REQUIRE(waitUntil([&] { return metric(proxy, kEjected) == 1; }, 5000ms));
  const auto ejectedAt = std::chrono::steady_clock::now();
  INFO("ejected " << elapsedMs(killedAt) << " ms after the kill");
  CHECK(elapsedMs(killedAt) < 3000);
  CHECK(metric(proxy, kEjections) == 1);
  CHECK(metric(proxy, "ringproxy_backend_ejected{shard=\"s1\"}") == 0);
  CHECK(metric(proxy, "ringproxy_backend_ejected{shard=\"s3\"}") == 0);

  // Every worker routes without s2 once the metric says so: no request fails from here.
  ProxyOptions without = proxy.options();
  without.shards[kVictim].weight = 0;
  const auto ringWithout = ringFor(without);
  for (const auto& k : victimKeys) {
    INFO("key " << k);
    CHECK(c.cmd({"GET", k}) == nil());  // the other shards never had it
    CHECK(c.cmd({"SET", k, "during:" + k}) == status("OK"));
    CHECK(c.cmd({"GET", k}) == bulk("during:" + k));
    // Served by the shard the ring without s2 names, and by no other.
    CHECK(holder(cluster, k, kVictim) == static_cast<int>(ringWithout->ownerOf(k)));
  }
  std::vector<std::string> mget{"MGET"};
  for (size_t s = 0; s < keys.size(); ++s) {
    for (const auto& k : keys[s]) mget.push_back(k);
  }
  const Reply all = c.cmd(mget);
  REQUIRE(all.type == ReplyType::Array);
  REQUIRE(all.elements.size() == mget.size() - 1);
  for (size_t i = 1; i < mget.size(); ++i) {
    const bool victim = (i - 1) / kKeysPerShard == kVictim;
    CHECK(all.elements[i - 1] == bulk((victim ? "during:" : "v:") + mget[i]));  // others never moved
  }
  CHECK(c.cmd({"PING"}) == status("PONG"));
  CHECK(c.ok());
  CHECK(proxy.log().find("backend shard ejected (auto_eject) shard=s2") != std::string::npos);

  // Restarted: back once it answers a probe, retry_ms after the ejection at the earliest.
  cluster.shard(kVictim).restart();
  REQUIRE(cluster.shard(kVictim).client().cmd({"GET", victimKeys[0]}) == bulk("v:" + victimKeys[0]));
  REQUIRE(waitUntil([&] { return metric(proxy, kEjected) == 0; }, std::chrono::milliseconds(kRetryMs + 5000)));
  INFO("back " << elapsedMs(ejectedAt) << " ms after the ejection was seen");
  CHECK(elapsedMs(ejectedAt) >= kRetryMs - 250);
  // Requests go to s2 again: the values written before the kill read back from it; the
  // ones written while it was out stay on the other shards, unseen (a store loses them).
  for (const auto& k : victimKeys) {
    INFO("key " << k);
    CHECK(c.cmd({"GET", k}) == bulk("v:" + k));
    CHECK(c.cmd({"SET", k, "after:" + k}) == status("OK"));
    CHECK(cluster.shard(kVictim).client().cmd({"GET", k}) == bulk("after:" + k));
  }
  for (size_t s = 0; s < keys.size(); ++s) {
    if (s == kVictim) continue;
    for (const auto& k : keys[s]) CHECK(c.cmd({"GET", k}) == bulk("v:" + k));
  }
  CHECK(metric(proxy, kEjections) == 1);
  CHECK(proxy.log().find("backend shard back in routing (auto_eject) shard=s2") != std::string::npos);
  CHECK(c.ok());
  CHECK(proxy.stop() == 0);
}

TEST_CASE("auto_eject: pub/sub follows the routing, and subscribers resubscribe when it changes",
          "[auto_eject]") {
  EjectSetup setup(true);
  auto& [cluster, proxy, c, keys, victimKeys] = setup;
  const std::string channel = cluster.keyOnShard(kVictim, "chan:");
  setup.killVictim();
  REQUIRE(waitUntil([&] { return metric(proxy, kEjected) == 1; }, 5000ms));

  // s2's channel lives on another shard now; a pattern on every shard but s2 (all of its
  // confirmations come, none is awaited from s2).
  Client sub = cluster.client(3000ms);
  CHECK(sub.cmd({"SUBSCRIBE", channel}) == array({bulk("subscribe"), bulk(channel), integer(1)}));
  Client psub = cluster.client(3000ms);
  CHECK(psub.cmd({"PSUBSCRIBE", "chan:*"}) == array({bulk("psubscribe"), bulk("chan:*"), integer(1)}));
  CHECK(c.cmd({"PUBLISH", channel, "m1"}) == integer(2));  // the channel's and the pattern's subscriber
  CHECK(sub.getReply() == array({bulk("message"), bulk(channel), bulk("m1")}));
  CHECK(psub.getReply() == array({bulk("pmessage"), bulk("chan:*"), bulk(channel), bulk("m1")}));

  // s2 is back: both subscriptions no longer match the routing, so both clients are
  // closed, as when a shard's pub/sub connection drops; subscribing again lands on s2.
  cluster.shard(kVictim).restart();
  REQUIRE(waitUntil([&] { return metric(proxy, kEjected) == 0; }, std::chrono::milliseconds(kRetryMs + 5000)));
  CHECK(sub.getReply().type == ReplyType::IoError);
  CHECK(psub.getReply().type == ReplyType::IoError);
  Client again = cluster.client(3000ms);
  CHECK(again.cmd({"SUBSCRIBE", channel}) == array({bulk("subscribe"), bulk(channel), integer(1)}));
  CHECK(cluster.shard(kVictim).client().cmd({"PUBSUB", "NUMSUB", channel}) ==
        array({bulk(channel), integer(1)}));
  CHECK(c.cmd({"PUBLISH", channel, "m2"}) == integer(1));
  CHECK(again.getReply() == array({bulk("message"), bulk(channel), bulk("m2")}));
  CHECK(proxy.stop() == 0);
}

TEST_CASE("auto_eject: off by default, a killed shard's keys get errors and nothing is rerouted",
          "[auto_eject]") {
  EjectSetup setup(false);
  auto& [cluster, proxy, c, keys, victimKeys] = setup;
  setup.killVictim();
  // Longer than auto_eject would have needed with the timings above.
  std::this_thread::sleep_for(std::chrono::milliseconds(kProbeMs * (kFailureLimit + 4)));
  for (const auto& k : victimKeys) {
    INFO("key " << k);
    CHECK(c.cmd({"GET", k}).type == ReplyType::Error);
    CHECK(c.cmd({"SET", k, "during:" + k}).type == ReplyType::Error);
    CHECK(holder(cluster, k, kVictim) == -1);  // written nowhere else
  }
  for (size_t s = 0; s < keys.size(); ++s) {
    if (s == kVictim) continue;
    for (const auto& k : keys[s]) CHECK(c.cmd({"GET", k}) == bulk("v:" + k));
  }
  CHECK(metric(proxy, kEjected) == 0);
  CHECK(metric(proxy, kEjections) == 0);
  CHECK(proxy.log().find("auto_eject") == std::string::npos);

  cluster.shard(kVictim).restart();
  REQUIRE(waitUntil([&] { return !c.cmd({"GET", victimKeys[0]}).isError(); }, 10000ms, 50ms));
  CHECK(c.cmd({"SET", victimKeys[0], "again"}) == status("OK"));
  CHECK(cluster.shard(kVictim).client().cmd({"GET", victimKeys[0]}) == bulk("again"));
  CHECK(c.ok());
  CHECK(proxy.stop() == 0);
}
