// Live rebalancing: the file is edited again while keys are still moving (issue item 4).
// The second ring waits for the first migration to finish, then migrates on its own, so
// every key is always on its old or its new owner; a verifying load runs across both and
// every key ends on its owner under the last file.
// Owns: nothing shared; starts its own shards and proxy on free ports.
// Run by: ctest as "e2e: migration: ..." (tag [migration]).
#include <catch2/catch.hpp>

#include "tests/integration/migration_e2e.h"
#include "tests/support/cluster.h"
#include "tests/support/verify_load.h"

using namespace testsupport;
using namespace testsupport::migration;
using namespace std::chrono_literals;

TEST_CASE("migration: a second edit while keys move applies after the first migration", "[migration]") {
  constexpr size_t kKeys = 40000;
  ProxyOptions opts;
  // ~10,000 keys move to s4 at 5,000 keys/s: the second edit lands mid-migration.
  opts.extraYaml = "migration:\n  batch_keys: 100\n  max_keys_per_second: 5000\n";
  ShardedCluster cluster(opts, 3);
  RedisServer s4(cluster.dir(), "s4");
  RedisServer s5(cluster.dir(), "s5");
  Proxy& proxy = cluster.proxy();
  Client c = cluster.client(30s);
  const Dataset ds = loadDataset(c, kKeys);
  VerifyLoad load(proxy.port(), {.dataset = &ds});
  REQUIRE(load.waitForOps(100, 10s));

  const MigrationMetrics before = MigrationMetrics::read(proxy);
  ProxyOptions first = proxy.options();
  first.shards.push_back({"s4", s4.address(), 1});
  writeConfig(proxy, first);
  REQUIRE(waitUntil([&] {
    const auto m = MigrationMetrics::read(proxy);
    return m.active == 1 && m.moved > 0;
  }, kStartTimeout));
  // Second edit: s5 joins and s1 leaves, while the first plan is still moving keys.
  ProxyOptions second = first;
  second.shards.erase(second.shards.begin());
  second.shards.push_back({"s5", s5.address(), 1});
  writeConfig(proxy, second);
  CHECK(waitUntil([&] { return infoField(c, "migration_reload_waiting") == "1"; }, 10s));
  REQUIRE(waitUntil([&] {
    const auto m = MigrationMetrics::read(proxy);
    return m.active == 0 && m.epoch >= before.epoch + 4;
  }, kDoneTimeout, 100ms));
  const LoadSummary summary = load.stop();
  const MigrationMetrics after = MigrationMetrics::read(proxy);
  INFO(after.describe() << "\n" << summary.describe());
  CHECK(summary.clean());
  CHECK(after.conflicts == 0);
  const auto finalRing = ringFor(second);
  const DatasetReport report = verifyDataset(c, ds, portsOf(second), *finalRing);
  INFO(report.describe());
  CHECK(report.ok());
  CHECK(checkPlacement(portsOf(second), *finalRing, summary.persistentKeys).empty());
  CHECK(cluster.shard(0).client().cmd({"DBSIZE"}).integer == 0);  // s1 drained
}
