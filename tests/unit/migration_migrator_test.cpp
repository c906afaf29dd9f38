// The Migrator (proxy/migration/migrator.h) against private redis-servers: adding a shard
// with 20,000 keys of every type, draining a removed shard, and resuming from saved
// cursors after stop(). Every check reads the servers directly. Run by ctest as
// "migration: ..."; needs /usr/bin/redis-server (warns and passes without it).
#include <catch2/catch.hpp>

#include <chrono>
#include <iostream>

#include "tests/unit/migration_test_util.h"

using migtest::Client;
using migtest::Recorder;
using migtest::Shards;

namespace {

// Proxy-internal keys on s1; most of them belong elsewhere under any ring, and must stay.
std::vector<std::string> writeReserved(Shards& shards, size_t count) {
  std::vector<std::string> keys;
  Client c = shards.client(0);
  for (size_t i = 0; i < count; ++i) {
    keys.push_back("__ringproxy:hot:" + std::to_string(i));
    REQUIRE(c.cmd({"SET", keys.back(), "copy"}).isStatus("OK"));
  }
  return keys;
}

}  // namespace

TEST_CASE("adding a shard moves exactly the keys the new ring gives it", "[migrator]") {
  MIGTEST_REQUIRE_REDIS();
  Shards shards(4);
  const auto from = shards.ring({1, 1, 1, 0});
  const auto to = shards.ring({1, 1, 1, 1});
  const migtest::Dataset data = migtest::writeDataset(shards, *from, 20000);
  const std::vector<std::string> reserved = writeReserved(shards, 50);
  shards.requireAuth(3, "", "s4-secret");  // the new shard needs MIGRATE ... AUTH
  const size_t moving = data.movingUnder(*from, *to);
  REQUIRE(moving > 3000);  // about a quarter

  Recorder rec(shards.size());
  mig::Migrator migrator(migtest::makePlan(shards, from, to), rec.hooks());
  const auto began = std::chrono::steady_clock::now();
  migrator.start();
  REQUIRE(rec.waitFinished());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  CHECK(rec.ok());
  CHECK(migrator.finished());

  const mig::Migrator::Progress t = migrator.totals();
  CHECK(t.done);
  CHECK(t.moved == moving);
  CHECK(t.scanned >= data.keys.size() + reserved.size());
  CHECK(t.conflicts == 0);
  CHECK(t.errors == 0);
  CHECK(t.sourceKeysAtStart == data.keys.size() + reserved.size());  // read before any move
  for (size_t s = 0; s < 3; ++s) {
    CHECK(migrator.progress(s).pass == 2);  // a pass that moved keys, then a clean one
  }
  CHECK(migrator.progress(3).pass == 1);   // the new shard had nothing to give...
  CHECK(migrator.progress(3).moved == 0);  // ...and a clean first pass proves it
  const std::string rate = "moved " + std::to_string(t.moved) + " small keys in " +
                           std::to_string(seconds) + " s = " +
                           std::to_string(static_cast<long>(t.moved / seconds)) +
                           " keys/s (incl. a clean second pass)";
  WARN(rate);
  std::cout << "migration throughput: " << rate << std::endl;

  migtest::checkPlacement(shards, *to, data);
  Client s1 = shards.client(0);
  for (const std::string& k : reserved) CHECK(s1.cmd({"GET", k}).isString("copy"));

  // finished fires once; stop() after it is harmless.
  migrator.stop();
  CHECK(rec.finishedCalls() == 1);
}

TEST_CASE("removing a shard drains it completely", "[migrator]") {
  MIGTEST_REQUIRE_REDIS();
  Shards shards(4);
  const auto from = shards.ring({1, 1, 1, 1});
  const auto to = shards.ring({1, 1, 1, 0});
  const migtest::Dataset data = migtest::writeDataset(shards, *from, 4000);
  // s1 is both a source and a target here: the migrator AUTHs to it as an ACL user, and
  // s4 must send MIGRATE ... AUTH2 to reach it.
  shards.requireAuth(0, "mover", "mover pass");
  const size_t moving = data.movingUnder(*from, *to);
  REQUIRE(moving == static_cast<size_t>(std::count_if(
                        data.keys.begin(), data.keys.end(),
                        [&](const std::string& k) { return from->ownerOf(k) == 3; })));

  Recorder rec(shards.size());
  mig::MigrationPlan plan = migtest::makePlan(shards, from, to);
  plan.batchKeys = 100;
  mig::Migrator migrator(plan, rec.hooks());
  migrator.start();
  REQUIRE(rec.waitFinished());
  CHECK(rec.ok());

  CHECK(shards.client(3).cmd({"DBSIZE"}).isInteger(0));
  const mig::Migrator::Progress t = migrator.totals();
  CHECK(t.moved == moving);
  CHECK(migrator.progress(3).moved == moving);
  CHECK(t.conflicts == 0);
  CHECK(t.errors == 0);
  migtest::checkPlacement(shards, *to, data);
}

TEST_CASE("a stopped migration resumes from its saved cursors", "[migrator]") {
  MIGTEST_REQUIRE_REDIS();
  Shards shards(4);
  const auto from = shards.ring({1, 1, 1, 0});
  const auto to = shards.ring({1, 1, 1, 1});
  const migtest::Dataset data = migtest::writeDataset(shards, *from, 8000);
  const size_t moving = data.movingUnder(*from, *to);

  // Small batches and a rate limit so stop() lands mid-pass.
  Recorder first(shards.size());
  mig::MigrationPlan plan = migtest::makePlan(shards, from, to);
  plan.batchKeys = 20;
  plan.maxKeysPerSecond = 1500;
  auto migrator = std::make_unique<mig::Migrator>(plan, first.hooks());
  migrator->start();
  REQUIRE(testsupport::waitUntil([&] { return migrator->totals().moved >= 300; },
                                 std::chrono::seconds(30)));
  const auto stopAt = std::chrono::steady_clock::now();
  migrator->stop();
  CHECK(testsupport::elapsedMs(stopAt) < 2000);  // the bucket's wait is interruptible
  const uint64_t movedBefore = migrator->totals().moved;
  CHECK(movedBefore < moving);
  CHECK_FALSE(migrator->finished());
  CHECK(first.finishedCalls() == 0);
  migrator.reset();

  const std::vector<mig::SourceCursor> saved = first.cursors();
  CHECK(std::any_of(saved.begin(), saved.end(), [](const auto& c) { return c.cursor != 0; }));

  Recorder second(shards.size());
  plan.start = saved;
  plan.maxKeysPerSecond = 0;
  plan.batchKeys = 200;
  mig::Migrator resumed(plan, second.hooks());
  for (size_t s = 0; s < shards.size(); ++s) {
    CHECK(resumed.progress(s).cursor == saved[s].cursor);
    CHECK(resumed.progress(s).pass == saved[s].pass);
  }
  resumed.start();
  REQUIRE(second.waitFinished());
  CHECK(second.ok());
  // Counts stay exact across the restart: nothing is moved twice or missed.
  CHECK(movedBefore + resumed.totals().moved == moving);
  CHECK(resumed.totals().errors == 0);
  migtest::checkPlacement(shards, *to, data);
}

TEST_CASE("an invalid plan reports finished(false) and moves nothing", "[migrator]") {
  MIGTEST_REQUIRE_REDIS();
  Shards shards(2);
  Recorder rec(shards.size());
  mig::MigrationPlan plan = migtest::makePlan(shards, shards.ring({1, 0}), shards.ring({1, 1}));
  plan.shards[1].name = "renamed";
  mig::Migrator migrator(plan, rec.hooks());
  migrator.start();
  REQUIRE(rec.waitFinished(std::chrono::seconds(5)));
  CHECK_FALSE(rec.ok());
  CHECK_FALSE(migrator.finished());
  CHECK(rec.linesWith("plan rejected").size() == 1);
}

TEST_CASE("stop() before start() and twice is harmless", "[migrator]") {
  MIGTEST_REQUIRE_REDIS();
  Shards shards(2);
  Recorder rec(shards.size());
  mig::Migrator migrator(migtest::makePlan(shards, shards.ring({1, 0}), shards.ring({1, 1})),
                         rec.hooks());
  migrator.stop();
  migrator.start();  // after stop(): does nothing
  migrator.stop();
  CHECK(rec.finishedCalls() == 0);
  CHECK_FALSE(migrator.finished());
}
