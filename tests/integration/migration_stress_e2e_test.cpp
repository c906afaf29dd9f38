// End-to-end live rebalancing, the hard cases: the proxy is killed with SIGKILL halfway
// through a (rate-limited) migration and started again on the same config file — it must
// resume from its state file and finish with nothing lost; and a hash of 1,000,000 fields
// moves whole while the stall it causes to other requests (same source shard, another
// shard) is measured and reported (informational: timings are never asserted).
// Owns: nothing shared; each TEST_CASE starts its own shards and proxy on free ports.
// Run by: ctest as "e2e: migration: ..." (tag [migration]). Companion file:
// migration_e2e_test.cpp (add / remove / reweigh under load, rejected file).
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
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

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The first "<prefix><n>" whose owners under the two rings satisfy `fits`.
std::string findKey(const std::string& prefix, const routing::HashRing& from,
                    const routing::HashRing& to,
                    const std::function<bool(uint32_t, uint32_t)>& fits) {
  for (size_t n = 0; n < 1000000; ++n) {
    std::string key = prefix + std::to_string(n);
    if (fits(from.ownerOf(key), to.ownerOf(key))) return key;
  }
  throw std::runtime_error("findKey: no key fits for prefix " + prefix);
}

// Keeps GETting one key through the proxy on its own connection: its latency samples
// (with when they started), errors and wrong values.
class Probe {
 public:
  using Clock = std::chrono::steady_clock;
  struct Sample {
    Clock::time_point at;
    long long us;
  };

  Probe(uint16_t port, std::string key, std::string value)
      : thread_([this, port, key = std::move(key), value = std::move(value)](
                    std::stop_token stop) { run(stop, port, key, value); }) {}

  size_t count() const { return count_.load(); }
  // Stops (joins) the probe; the samples are stable afterwards.
  void stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }
  // The largest latency among samples started in [from, to), in ms.
  double maxMs(Clock::time_point from, Clock::time_point to) const {
    long long worst = 0;
    for (const auto& s : samples_) {
      if (s.at >= from && s.at < to) worst = std::max(worst, s.us);
    }
    return worst / 1000.0;
  }
  uint64_t failures() const { return failures_; }
  const std::string& firstFailure() const { return firstFailure_; }

 private:
  void run(const std::stop_token& stop, uint16_t port, const std::string& key,
           const std::string& value) {
    Client c(port, std::chrono::milliseconds(30000));
    while (!stop.stop_requested()) {
      const auto t0 = Clock::now();
      const Reply r = c.cmd({"GET", key});
      samples_.push_back({t0, std::chrono::duration_cast<std::chrono::microseconds>(
                                  Clock::now() - t0).count()});
      ++count_;
      if (r == bulk(value)) continue;
      if (failures_++ == 0) firstFailure_ = cat("GET ", key, " -> ", r.describe());
      if (!c.ok()) c.reconnect();
    }
  }

  std::vector<Sample> samples_;
  std::atomic<size_t> count_{0};
  uint64_t failures_ = 0;
  std::string firstFailure_;
  std::jthread thread_;  // last: starts once the members above exist
};

// HSET `fields` fields f<j> = v<j>, 1000 per command, 20 commands per round trip.
void loadBigHash(Client& c, const std::string& key, size_t fields) {
  constexpr size_t kPerCommand = 1000, kPerRound = 20;
  for (size_t j = 0; j < fields;) {
    size_t sent = 0;
    for (; sent < kPerRound && j < fields; ++sent) {
      std::vector<std::string> cmd{"HSET", key};
      for (size_t end = std::min(fields, j + kPerCommand); j < end; ++j) {
        cmd.push_back(cat("f", j));
        cmd.push_back(cat("v", j));
      }
      c.append(cmd);
    }
    for (size_t k = 0; k < sent; ++k) REQUIRE(c.getReply().type == ReplyType::Integer);
  }
}

// Waits until the restarted proxy shows the resumed migration (active, or keys moved by
// this process), then until it is over. The new process's epoch is not compared with
// the old one's: what a restart does to it is not part of the contract.
void waitResumedAndDone(const Proxy& proxy) {
  if (!waitUntil([&] {
        const auto m = MigrationMetrics::read(proxy);
        return m.active == 1 || m.moved > 0;
      }, kStartTimeout)) {
    FAIL("the restarted proxy did not resume the migration; metrics "
         << MigrationMetrics::read(proxy).describe());
  }
  if (!waitUntil([&] {
        const auto m = MigrationMetrics::read(proxy);
        return m.active == 0 && m.moved > 0;
      }, kDoneTimeout, 100ms)) {
    FAIL("the resumed migration did not finish; metrics "
         << MigrationMetrics::read(proxy).describe());
  }
}

}  // namespace

TEST_CASE("migration: kill -9 halfway then a restart on the same file resumes and loses nothing",
          "[migration]") {
  constexpr size_t kKeys = 60000;
  ProxyOptions opts;
  // ~15,000 keys move to s4 at 4,000 keys/s: a few seconds, so the kill lands halfway.
  opts.extraYaml = "migration:\n  batch_keys: 100\n  max_keys_per_second: 4000\n";
  ShardedCluster cluster(opts, 3);
  RedisServer s4(cluster.dir(), "s4");
  ProxyOptions next = cluster.proxy().options();
  next.shards.push_back({"s4", s4.address(), 1});
  const auto newRing = ringFor(next);
  Proxy& proxy = cluster.proxy();
  Client c = cluster.client(30s);
  const Dataset ds = loadDataset(c, kKeys);
  const size_t moving = movingKeys(ds.keys(), cluster.ring(), *newRing);

  const MigrationMetrics before = MigrationMetrics::read(proxy);
  INFO("metrics before the edit: " << before.describe());
  REQUIRE(before.epoch >= 0);  // ringproxy_ring_epoch is exported (the feature is built)
  const auto t0 = std::chrono::steady_clock::now();
  writeConfig(proxy, next);
  REQUIRE(waitUntil([&] {
    const auto m = MigrationMetrics::read(proxy);
    return m.moved > 0 && m.active == 1;
  }, kStartTimeout));
  proxy.process().kill(SIGKILL);
  REQUIRE(proxy.process().wait(5s).has_value());
  const long long onS4 = s4.client().cmd({"DBSIZE"}).integer;
  INFO(onS4 << " of " << moving << " moving keys were on s4 at the kill");
  REQUIRE(onS4 < static_cast<long long>(moving));  // really halfway: something left to do
  CHECK(fileExists(proxy.configPath() + ".migration"));  // the default state file

  proxy.restart();
  c = cluster.client(30s);
  VerifyLoad load(proxy.port(), {.dataset = &ds});  // not across the kill: after it
  waitResumedAndDone(proxy);
  const LoadSummary summary = load.stop();
  const MigrationMetrics after = MigrationMetrics::read(proxy);
  WARN("kill -9 after " << onS4 << " of " << moving << " keys; whole migration "
       << elapsedMs(t0) << " ms; after the restart: " << after.describe() << "\n"
       << summary.describe());
  INFO("after the restart: " << after.describe() << "\n" << summary.describe());
  CHECK(summary.clean());
  CHECK(after.conflicts == 0);
  CHECK(after.errors == 0);
  const DatasetReport report = verifyDataset(c, ds, portsOf(next), *newRing);
  INFO(report.describe());
  CHECK(report.ok());
  CHECK(checkPlacement(portsOf(next), *newRing, summary.persistentKeys).empty());
  CHECK(infoField(c, "migration_active") == "0");
}

TEST_CASE("migration: a hash of 1000000 fields moves whole and the stall it causes is reported",
          "[migration]") {
  constexpr size_t kFields = 1000000;
  ProxyOptions opts;
  opts.timeoutMs = 10000;  // a source shard busy with the big MIGRATE is slow, not failed
  ShardedCluster cluster(opts, 3);
  RedisServer s4(cluster.dir(), "s4");
  ProxyOptions next = cluster.proxy().options();
  next.shards.push_back({"s4", s4.address(), 1});
  const auto newRing = ringFor(next);
  Proxy& proxy = cluster.proxy();
  const std::string big = findKey("big:", cluster.ring(), *newRing,
                                  [](uint32_t, uint32_t to) { return to == 3; });
  const uint32_t source = cluster.ownerOf(big);
  // Probes that do not move: one on the big key's source shard, one on another shard.
  const std::string same = findKey("probe:same:", cluster.ring(), *newRing,
                                   [&](uint32_t f, uint32_t t) { return f == source && t == source; });
  const std::string other = findKey("probe:other:", cluster.ring(), *newRing,
                                    [&](uint32_t f, uint32_t t) { return f != source && t == f; });
  Client c = cluster.client(30s);
  auto t0 = std::chrono::steady_clock::now();
  loadBigHash(c, big, kFields);
  REQUIRE(c.cmd({"HLEN", big}) == integer(kFields));
  const long long loadMs = elapsedMs(t0);
  REQUIRE(c.cmd({"SET", same, "same"}) == status("OK"));
  REQUIRE(c.cmd({"SET", other, "other"}) == status("OK"));

  Probe sameProbe(proxy.port(), same, "same"), otherProbe(proxy.port(), other, "other");
  REQUIRE(waitUntil([&] { return sameProbe.count() >= 200 && otherProbe.count() >= 200; }, 10s));
  const MigrationMetrics before = MigrationMetrics::read(proxy);
  INFO("metrics before the edit: " << before.describe());
  REQUIRE(before.epoch >= 0);
  const auto edit = std::chrono::steady_clock::now();
  writeConfig(proxy, next);
  REQUIRE(waitMigrationStarted(proxy, before.epoch));
  const bool done = waitMigrationDone(proxy, before.epoch);
  const auto end = std::chrono::steady_clock::now();
  sameProbe.stop();
  otherProbe.stop();
  const MigrationMetrics after = MigrationMetrics::read(proxy);
  WARN("big hash (" << kFields << " fields, loaded in " << loadMs << " ms) moved in "
       << elapsedMs(edit) << " ms. Max GET latency, before the edit / during the move: "
       << "same source shard " << sameProbe.maxMs(t0, edit) << " / "
       << sameProbe.maxMs(edit, end) << " ms; another shard " << otherProbe.maxMs(t0, edit)
       << " / " << otherProbe.maxMs(edit, end) << " ms");
  INFO("metrics after: " << after.describe());
  REQUIRE(done);
  INFO("probe failures: " << sameProbe.firstFailure() << " | " << otherProbe.firstFailure());
  CHECK(sameProbe.failures() == 0);
  CHECK(otherProbe.failures() == 0);
  CHECK(after.conflicts == 0);
  CHECK(after.errors == 0);
  CHECK(c.cmd({"HLEN", big}) == integer(kFields));
  CHECK(c.cmd({"HGET", big, cat("f", kFields - 1)}) == bulk(cat("v", kFields - 1)));
  CHECK(s4.client().cmd({"HLEN", big}) == integer(kFields));
  CHECK(cluster.shard(source).client().cmd({"EXISTS", big}) == integer(0));
}
