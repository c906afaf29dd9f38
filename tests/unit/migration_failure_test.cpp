// The Migrator's unhappy paths against private redis-servers: a key already on its new
// owner (BUSYKEY: same value = settle, different value = conflict, never overwrite) and a
// target that stops answering (IOERR: count, back off, redo the batch, lose nothing).
// Run by ctest as "migration: ..."; needs /usr/bin/redis-server (warns and passes without).
#include <catch2/catch.hpp>

#include <signal.h>

#include "tests/unit/migration_test_util.h"

using migtest::Client;
using migtest::Recorder;
using migtest::Shards;

namespace {

// The first key of `data` named `prefix`... that moves from s1 to s2 and has no TTL (a
// copy planted on the target has none, and the target's copy is the one kept).
size_t movingKey(const migtest::Dataset& data, const routing::HashRing& to,
                 const std::string& prefix) {
  for (size_t i = 0; i < data.keys.size(); ++i) {
    const std::string& k = data.keys[i];
    if (k.rfind(prefix, 0) == 0 && data.pttls[i] < 0 && to.ownerOf(k) == 1) return i;
  }
  FAIL("no moving key named " << prefix);
  return 0;
}

// A key named `prefix`<n>`suffix` that the new ring gives to s2.
std::string keyMovingToS2(const routing::HashRing& to, const std::string& prefix,
                          const std::string& suffix = "") {
  for (int i = 0;; ++i) {
    std::string key = prefix + std::to_string(i) + suffix;
    if (to.ownerOf(key) == 1) return key;
  }
}

}  // namespace

TEST_CASE("a key already on its new owner: same value settles, different value conflicts",
          "[migrator][conflict]") {
  MIGTEST_REQUIRE_REDIS();
  Shards shards(2);
  const auto from = shards.ring({1, 0});
  const auto to = shards.ring({1, 1});
  const migtest::Dataset data = migtest::writeDataset(shards, *from, 2000);
  const size_t moving = data.movingUnder(*from, *to);
  Client s1 = shards.client(0);
  Client s2 = shards.client(1);

  // Same value already on the target (e.g. a MIGRATE whose reply was lost).
  const size_t same = movingKey(data, *to, "str:");
  const std::string sameValue = "value-" + data.keys[same].substr(4);
  REQUIRE(s2.cmd({"SET", data.keys[same], sameValue}).isStatus("OK"));
  // The same set on both, built in opposite orders: their DUMPs differ (a hashtable set
  // dumps in dict order, which follows each server's random hash seed); values do not.
  const std::string sameSet = keyMovingToS2(*to, "bigset:");
  for (int i = 0; i < 200; ++i) {
    REQUIRE(s1.cmd({"SADD", sameSet, std::to_string(i) + "m"}).isInteger(1));
    REQUIRE(s2.cmd({"SADD", sameSet, std::to_string(199 - i) + "m"}).isInteger(1));
  }
  REQUIRE(s1.cmd({"DUMP", sameSet}).str != s2.cmd({"DUMP", sameSet}).str);
  // A different value on the target: a conflict, both copies must survive.
  // 300 bytes long, to see the log truncate it.
  const std::string conflict = keyMovingToS2(*to, "conflict:", ":" + std::string(300, 'x'));
  REQUIRE(s1.cmd({"SET", conflict, "source copy"}).isStatus("OK"));
  REQUIRE(s2.cmd({"SET", conflict, "target copy"}).isStatus("OK"));

  Recorder rec(shards.size());
  mig::MigrationPlan plan = migtest::makePlan(shards, from, to);
  plan.batchKeys = 50;  // the conflict then shares its MIGRATE with few other keys
  mig::Migrator migrator(plan, rec.hooks());
  migrator.start();
  REQUIRE(rec.waitFinished());
  CHECK(rec.ok());

  const mig::Migrator::Progress t = migrator.totals();
  CHECK(t.conflicts == 1);
  CHECK(t.moved == moving + 1);  // every data key and the set, pre-copied ones included
  CHECK(t.errors == 0);
  // The conflict is met again in the clean second pass and not counted again.
  CHECK(migrator.progress(0).pass == 2);
  CHECK(s1.cmd({"GET", conflict}).isString("source copy"));
  CHECK(s2.cmd({"GET", conflict}).isString("target copy"));
  CHECK(s1.cmd({"EXISTS", data.keys[same]}).isInteger(0));
  CHECK(s2.cmd({"GET", data.keys[same]}).isString(sameValue));
  CHECK(s1.cmd({"EXISTS", sameSet}).isInteger(0));
  CHECK(s2.cmd({"SCARD", sameSet}).isInteger(200));

  const std::vector<std::string> lines = rec.linesWith("migration conflict:");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("'conflict:") != std::string::npos);
  CHECK(lines[0].find(std::string(120, 'x')) == std::string::npos);  // key truncated
  CHECK(lines[0].find("bytes)") != std::string::npos);

  // The planted key aside, every key is where the new ring says.
  REQUIRE(s1.cmd({"DEL", conflict}).isInteger(1));
  migtest::checkPlacement(shards, *to, data);
}

TEST_CASE("a target that stops answering: errors are counted and the batch is redone",
          "[migrator][ioerr]") {
  MIGTEST_REQUIRE_REDIS();
  Shards shards(2);
  const auto from = shards.ring({1, 0});
  const auto to = shards.ring({1, 1});
  const migtest::Dataset data = migtest::writeDataset(shards, *from, 3000);
  const size_t moving = data.movingUnder(*from, *to);

  Recorder rec(shards.size());
  mig::MigrationPlan plan = migtest::makePlan(shards, from, to);
  plan.batchKeys = 200;
  plan.migrateTimeoutMs = 300;  // IOERR quickly while the target is frozen
  plan.ioTimeoutMs = 3000;
  mig::Migrator migrator(plan, rec.hooks());

  shards.server(1).kill(SIGSTOP);
  migrator.start();
  // s1's MIGRATE times out (IOERR) at least once before the target wakes up.
  const bool sawErrors = testsupport::waitUntil(
      [&] { return migrator.progress(0).errors >= 1; }, std::chrono::seconds(30));
  shards.server(1).kill(SIGCONT);
  REQUIRE(sawErrors);
  CHECK_FALSE(migrator.finished());
  REQUIRE(rec.waitFinished());
  CHECK(rec.ok());

  const mig::Migrator::Progress t = migrator.totals();
  INFO("errors " << t.errors << ", passes " << t.pass);
  CHECK(t.conflicts == 0);
  CHECK_FALSE(rec.linesWith("IOERR").empty());
  // The frozen target ran the RESTOREs of the timed-out MIGRATE once it woke, so those
  // keys were on both sides: the BUSYKEY path settled them, and each still counts once.
  CHECK(rec.linesWith("with the same value; source copies removed").size() == 1);
  CHECK(t.moved == moving);
  migtest::checkPlacement(shards, *to, data);
}
