// End-to-end live rebalancing under load: add a 4th shard, remove one, reweigh one. Each
// time 200,000 keys of every type (~10% with a TTL, ~10% hash-tagged) are loaded through
// the proxy, a verifying read/write load runs across the move, and afterwards every key
// must be on exactly its new owner (checked on the shards directly) with its value and
// TTL, the load must have seen zero errors and zero wrong reads, and no conflict counted.
// Also: a rejected file that would change the ring starts no migration, and the dataset
// load and check redo what the proxy timed out on.
// Owns: nothing shared; each TEST_CASE starts its own shards and proxy on free ports.
// Run by: ctest as "e2e: migration: ..." (tag [migration]). Companion file:
// migration_stress_e2e_test.cpp (kill -9 mid-migration, a 1,000,000-field hash).
#include <signal.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/migration_e2e.h"
#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/text.h"
#include "tests/support/verify_load.h"

using namespace testsupport;
using namespace testsupport::migration;
using namespace std::chrono_literals;

namespace {

constexpr size_t kKeys = 200000;

// What a ring change under load leaves behind for the checks.
struct MoveResult {
  Dataset dataset;
  LoadSummary load;
  MigrationMetrics before, after;
  std::string digestBefore;
  long long migrationMs = 0;
};

// connected_clients from INFO clients on a direct shard connection.
long long connectedClients(Client& shard) {
  const Reply r = shard.cmd({"INFO", "clients"});
  const size_t at = r.str.find("connected_clients:");
  return at == std::string::npos ? -1 : std::stoll(r.str.substr(at + 18));
}

// Loads the dataset, starts the verifying load, applies `next` to the running proxy and
// waits (bounded) for the migration to finish; stops the load.
MoveResult moveUnderLoad(ShardedCluster& cluster, Client& c, const ProxyOptions& next) {
  Proxy& proxy = cluster.proxy();
  MoveResult out;
  auto t0 = std::chrono::steady_clock::now();
  out.dataset = loadDataset(c, kKeys);
  const long long loadMs = elapsedMs(t0);
  t0 = std::chrono::steady_clock::now();
  const DatasetReport loaded = verifyDataset(c, out.dataset, cluster.shardPorts(), cluster.ring());
  INFO("before the edit: " << loaded.describe());
  REQUIRE(loaded.ok());  // the loader and checker agree on a static cluster
  WARN(kKeys << " keys loaded in " << loadMs << " ms, verified in " << elapsedMs(t0) << " ms");

  VerifyLoad load(proxy.port(), {.dataset = &out.dataset});
  REQUIRE(load.waitForOps(100, 10s));
  out.before = MigrationMetrics::read(proxy);
  out.digestBefore = infoField(c, "ring_digest");
  INFO("metrics before the edit: " << out.before.describe());
  REQUIRE(out.before.epoch >= 0);  // ringproxy_ring_epoch is exported (the feature is built)
  t0 = std::chrono::steady_clock::now();
  writeConfig(proxy, next);
  if (!waitMigrationStarted(proxy, out.before.epoch)) {
    FAIL("the edit started no migration within " << kStartTimeout.count() << " ms; metrics "
         << MigrationMetrics::read(proxy).describe());
  }
  const bool done = waitMigrationDone(proxy, out.before.epoch);
  out.migrationMs = elapsedMs(t0);
  out.load = load.stop();
  out.after = MigrationMetrics::read(proxy);
  if (!done) {
    FAIL("no cut-over within " << kDoneTimeout.count() << " ms; metrics "
         << out.after.describe() << "\n" << out.load.describe());
  }
  return out;
}

// Everything that must hold once the ring moved from `cluster.ring()` to `next`.
void checkAfterMove(ShardedCluster& cluster, Client& c, const ProxyOptions& next,
                    const MoveResult& m) {
  const auto newRing = ringFor(next);
  const size_t moving = movingKeys(m.dataset.keys(), cluster.ring(), *newRing);
  WARN("migration of " << moving << " moving dataset keys took " << m.migrationMs
       << " ms; metrics " << m.after.describe() << "\n" << m.load.describe());
  INFO("metrics after: " << m.after.describe());
  {
    INFO(m.load.describe());
    CHECK(m.load.errors == 0);
    CHECK(m.load.wrongReads == 0);
  }
  CHECK(m.after.active == 0);
  CHECK(m.after.epoch == m.before.epoch + 2);
  CHECK(m.after.moved > 0);
  // Each moving key moved once, in the background or on access: a lower bound.
  CHECK(m.after.moved + m.after.accessMigrates >= static_cast<double>(moving));
  CHECK(m.after.conflicts == 0);
  CHECK(m.after.errors == 0);

  const auto t0 = std::chrono::steady_clock::now();
  const DatasetReport report = verifyDataset(c, m.dataset, portsOf(next), *newRing);
  INFO(report.describe());
  CHECK(report.ok());
  CHECK(report.checked == kKeys);
  const auto loadPlacement = checkPlacement(portsOf(next), *newRing, m.load.persistentKeys);
  INFO("writer keys: " << (loadPlacement.empty() ? "" : loadPlacement.front()));
  CHECK(loadPlacement.empty());
  CHECK_FALSE(m.load.persistentKeys.empty());
  WARN("after the move: verified in " << elapsedMs(t0) << " ms");

  // The INFO section agrees with the metrics; the ring digest changed.
  CHECK(infoField(c, "migration_active") == "0");
  CHECK(infoField(c, "ring_epoch") == std::to_string(static_cast<long long>(m.after.epoch)));
  const std::string digest = infoField(c, "ring_digest");
  CHECK_FALSE(digest.empty());
  CHECK(digest != m.digestBefore);
}

}  // namespace

// The dataset load and check themselves: keys the proxy timed out on (a shard stalled, as
// one can be for a second under a sanitizer on a busy machine) are written or read again
// once the shard is back, and checked like the others.
TEST_CASE("migration: the dataset load and check redo what the proxy timed out on",
          "[migration]") {
  ShardedCluster cluster;
  Client c = cluster.client(30s);
  auto stallShard = [&] {
    cluster.shard(1).kill(SIGSTOP);
    return std::jthread([&] {  // joined on the way out, also if the load or check throws
      std::this_thread::sleep_for(1500ms);
      cluster.shard(1).kill(SIGCONT);
    });
  };
  Dataset ds;
  {
    std::jthread resume = stallShard();
    ds = loadDataset(c, 3000);
  }
  CHECK(ds.rewritten > 0);
  std::jthread resume = stallShard();
  const DatasetReport report = verifyDataset(c, ds, cluster.shardPorts(), cluster.ring());
  INFO(report.describe());
  CHECK(report.reread > 0);
  CHECK(report.checked == 3000);
  CHECK(report.ok());
}

TEST_CASE("migration: adding a 4th shard under load moves keys and loses none",
          "[migration]") {
  ShardedCluster cluster({}, 3);
  RedisServer s4(cluster.dir(), "s4");
  ProxyOptions next = cluster.proxy().options();
  next.shards.push_back({"s4", s4.address(), 1});
  Client c = cluster.client(30s);
  const MoveResult m = moveUnderLoad(cluster, c, next);
  checkAfterMove(cluster, c, next, m);
}

TEST_CASE("migration: removing a shard drains it under load and then drops it", "[migration]") {
  ShardedCluster cluster({}, 4);
  ProxyOptions next = cluster.proxy().options();
  next.shards.pop_back();  // s4
  Client c = cluster.client(30s);
  const MoveResult m = moveUnderLoad(cluster, c, next);
  checkAfterMove(cluster, c, next, m);

  Client s4 = cluster.shard(3).client();
  CHECK(s4.cmd({"DBSIZE"}) == integer(0));
  // Out of the ring, the proxy closes its connections to s4: ours is the only one left.
  CHECK(waitUntil([&] { return connectedClients(s4) == 1; }, 10s));
  INFO("connected_clients on the removed shard: " << connectedClients(s4));
}

TEST_CASE("migration: reweighing a shard (1 -> 3) moves keys to it under load",
          "[migration]") {
  ShardedCluster cluster({}, 3);
  ProxyOptions next = cluster.proxy().options();
  next.shards[1].weight = 3;  // s2
  Client c = cluster.client(30s);
  const MoveResult m = moveUnderLoad(cluster, c, next);
  checkAfterMove(cluster, c, next, m);
}

TEST_CASE("migration: a rejected file that would change the ring starts no migration",
          "[migration]") {
  ShardedCluster cluster({}, 3);
  Proxy& proxy = cluster.proxy();
  Client c = cluster.client();
  REQUIRE(c.cmd({"SET", "steady", "v"}) == status("OK"));
  const std::string failures = "ringproxy_config_reloads_total{result=\"failure\"}";
  const double failedBefore = std::max(0.0, metricSum(proxy.metricsPort(), failures));
  const MigrationMetrics before = MigrationMetrics::read(proxy);

  // A new shard with an unusable address: the whole file is rejected, ring included.
  ProxyOptions bad = proxy.options();
  bad.shards.push_back({"s4", "127.0.0.1:not-a-port", 1});
  writeConfig(proxy, bad);
  REQUIRE(waitUntil([&] { return metricSum(proxy.metricsPort(), failures) == failedBefore + 1; },
                    10s));
  const MigrationMetrics after = MigrationMetrics::read(proxy);
  INFO("before: " << before.describe() << "\nafter: " << after.describe());
  CHECK(after.epoch == before.epoch);
  CHECK(after.active <= 0);  // 0, or -1 in a build without migration metrics
  CHECK(c.cmd({"GET", "steady"}) == bulk("v"));
  CHECK(cluster.checkPlacement({"steady"}).empty());
}
