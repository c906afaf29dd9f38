// End-to-end live rebalancing with several proxy instances (issue 6: "several proxies, one
// ring: agree before any key moves"). Two ringproxy instances A and B sit in front of the
// same 3 shards, each with its own YAML file; a 4th redis-server is added to the ring.
//   1. A reloads, B several seconds later: while only A knows the new ring, A reports
//      `prepared` and no key moves (polled every 100 ms for 3 s); once B reloads too the
//      migration runs and finishes on both. A verifying load through both sees zero errors
//      and zero wrong reads; every key ends on its new owner (checked on the shards).
//   2. B never reloads: nothing moves, and A shows why (INFO members/ready/member lines,
//      the ready metrics, the "migration waits for proxy instances" log); after B reloads
//      the migration completes.
//   3. B runs the background mover (smallest id) and is killed with SIGKILL mid-migration:
//      once B's heartbeat record expires A takes over, finishes, and nothing is lost.
// Owns: nothing shared; each TEST_CASE starts its own shards and proxies on free ports.
// Run by: ctest as "e2e:cluster: ..." (tag [cluster]). Reuses migration_e2e.h (metrics,
// INFO, config rewrite) and verify_load.h (dataset, verifying load).
#include <signal.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
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

constexpr size_t kKeys = 30000;
constexpr std::chrono::milliseconds kConverge = 15s;  // members see each other, phases
constexpr std::chrono::milliseconds kQuiet = 3s;      // "nothing moves" is checked this long
constexpr std::chrono::milliseconds kDone = 60s;      // a whole migration

// The per-instance YAML: a fixed cluster id (decides who leads) and the migration rate.
std::string clusterYaml(const std::string& id, unsigned keysPerSecond) {
  return cat("cluster:\n  id: \"", id, "\"\nmigration:\n  max_keys_per_second: ",
             keysPerSecond, "\n");
}

ProxyOptions withExtra(std::string extra) {
  ProxyOptions o;
  o.extraYaml = std::move(extra);
  return o;
}

// s1..s3 with proxy A (ShardedCluster), proxy B on the same shards, s4 started empty.
struct Rig {
  ShardedCluster cluster;
  RedisServer s4;
  std::unique_ptr<Proxy> b;
  ProxyOptions nextA, nextB;  // each proxy's own file with s4 appended
  std::shared_ptr<const routing::HashRing> newRing;

  Rig(const std::string& extraA, const std::string& extraB)
      : cluster(withExtra(extraA), 3), s4(cluster.dir(), "s4") {
    ProxyOptions ob = cluster.proxy().options();
    ob.extraYaml = extraB;
    b = std::make_unique<Proxy>(cluster.dir(), ob, "b");
    nextA = cluster.proxy().options();
    nextA.shards.push_back({"s4", s4.address(), 1});
    nextB = b->options();
    nextB.shards.push_back({"s4", s4.address(), 1});
    newRing = ringFor(nextA);
  }
  Proxy& a() { return cluster.proxy(); }
  long long s4Keys() { return s4.client().cmd({"DBSIZE"}).integer; }
};

size_t countOf(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The whole `INFO migration` text through a proxy.
std::string infoText(Client& c) { return c.cmd({"INFO", "migration"}).str; }

// The `cluster_member_<i>:` line of member `id` in an INFO text ("" when absent).
std::string memberLine(const std::string& info, const std::string& id) {
  const std::string needle = ":id=" + id + ",";
  for (size_t at = info.find("cluster_member_"); at != std::string::npos;
       at = info.find("cluster_member_", at + 1)) {
    const std::string line = info.substr(at, info.find_first_of("\r\n", at) - at);
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

// `name=value` out of a member line ("" when absent).
std::string memberField(const std::string& line, const std::string& name) {
  const size_t at = line.find("," + name + "=");
  if (at == std::string::npos) return "";
  const size_t from = at + name.size() + 2;
  return line.substr(from, line.find(',', from) - from);
}

// Both proxies list both members: a reload from now on sees the other instance.
void waitMembersConverged(Client& ca, Client& cb) {
  const bool ok = waitUntil(
      [&] { return infoField(ca, "cluster_members") == "2" && infoField(cb, "cluster_members") == "2"; },
      kConverge, 50ms);
  INFO("A:\n" << infoText(ca) << "\nB:\n" << infoText(cb));
  REQUIRE(ok);
}

// What is wrong while A knows the new ring and B does not ("" when nothing): A must stay
// prepared and B stable, and no key may have moved (metrics on both, s4 empty).
std::string movedTooEarly(Rig& rig, Client& ca, Client& cb) {
  const MigrationMetrics ma = MigrationMetrics::read(rig.a()), mb = MigrationMetrics::read(*rig.b);
  const long long onS4 = rig.s4Keys();
  const std::string phaseA = infoField(ca, "cluster_phase"), phaseB = infoField(cb, "cluster_phase");
  if (ma.moved == 0 && mb.moved == 0 && ma.accessMigrates == 0 && mb.accessMigrates == 0 &&
      onS4 == 0 && phaseA == "prepared" && phaseB == "stable") {
    return "";
  }
  return cat("A phase=", phaseA, " ", ma.describe(), "; B phase=", phaseB, " ", mb.describe(),
             "; s4 DBSIZE=", onS4);
}

// Polls every 100 ms for kQuiet: fails at the first sign of a key moving.
void expectNothingMoves(Rig& rig, Client& ca, Client& cb) {
  std::string problem;
  const bool moved = waitUntil(
      [&] { return !(problem = movedTooEarly(rig, ca, cb)).empty(); }, kQuiet, 100ms);
  INFO("while only A knows the new ring: " << problem << "\nA:\n" << infoText(ca));
  REQUIRE_FALSE(moved);
}

// Both proxies cut over: not active, epoch risen by 2 since before the edits.
bool waitBothDone(Rig& rig, const MigrationMetrics& beforeA, const MigrationMetrics& beforeB) {
  return waitUntil(
      [&] {
        const MigrationMetrics ma = MigrationMetrics::read(rig.a()), mb = MigrationMetrics::read(*rig.b);
        return ma.active == 0 && ma.epoch >= beforeA.epoch + 2 && mb.active == 0 &&
               mb.epoch >= beforeB.epoch + 2;
      },
      kDone, 100ms);
}

// A verifying load through one proxy; the writer keys are per proxy (prefix).
std::unique_ptr<VerifyLoad> startLoad(Proxy& p, const std::string& prefix, const Dataset& ds) {
  auto load = std::make_unique<VerifyLoad>(
      p.port(), VerifyLoadOptions{.writers = 3, .readers = 2, .prefix = prefix, .dataset = &ds});
  REQUIRE(load->waitForOps(50, 10s));
  return load;
}

void checkLoad(const std::string& who, const LoadSummary& s, Rig& rig) {
  WARN("load through " << who << ": " << s.describe());
  INFO("load through " << who << ": " << s.describe());
  CHECK(s.errors == 0);
  CHECK(s.wrongReads == 0);
  CHECK_FALSE(s.persistentKeys.empty());
  const auto misplaced = checkPlacement(portsOf(rig.nextA), *rig.newRing, s.persistentKeys);
  INFO("writer keys through " << who << ": " << (misplaced.empty() ? "" : misplaced.back()));
  CHECK(misplaced.empty());
}

// Every dataset key through A, value and TTL, on exactly its R1 owner.
void checkDataset(Rig& rig, Client& ca, const Dataset& ds) {
  const DatasetReport report = verifyDataset(ca, ds, portsOf(rig.nextA), *rig.newRing);
  INFO(report.describe());
  CHECK(report.ok());
  CHECK(report.checked == ds.size);
  CHECK(rig.s4Keys() > 0);
  CHECK(infoField(ca, "migration_active") == "0");
  CHECK(infoField(ca, "cluster_phase") == "stable");
}

// After both proxies cut over (cases 1 and 2): metrics on both, loads, dataset.
void checkBothFinished(Rig& rig, Client& ca, const Dataset& ds, const MigrationMetrics& beforeA,
                       const MigrationMetrics& beforeB, const LoadSummary& la, const LoadSummary& lb) {
  const MigrationMetrics ma = MigrationMetrics::read(rig.a()), mb = MigrationMetrics::read(*rig.b);
  INFO("A: " << ma.describe() << "\nB: " << mb.describe());
  CHECK(ma.epoch == beforeA.epoch + 2);
  CHECK(mb.epoch == beforeB.epoch + 2);
  CHECK(ma.conflicts + mb.conflicts == 0);
  CHECK(ma.errors + mb.errors == 0);
  // Each moving key moved once, in the background or on access, on one of them.
  const size_t moving = movingKeys(ds.keys(), rig.cluster.ring(), *rig.newRing);
  CHECK(ma.moved + ma.accessMigrates + mb.moved + mb.accessMigrates >= static_cast<double>(moving));
  checkLoad("A", la, rig);
  checkLoad("B", lb, rig);
  checkDataset(rig, ca, ds);
}

// Cases 1 and 2 up to "A reloaded, B did not": dataset, loads, A prepared, nothing moved.
struct Started {
  Dataset ds;
  std::unique_ptr<VerifyLoad> loadA, loadB;
  MigrationMetrics beforeA, beforeB;
};

Started reloadAOnly(Rig& rig, Client& ca, Client& cb) {
  Started s;
  waitMembersConverged(ca, cb);
  const auto t0 = std::chrono::steady_clock::now();
  s.ds = loadDataset(ca, kKeys);
  WARN(kKeys << " keys loaded in " << elapsedMs(t0) << " ms");
  s.loadA = startLoad(rig.a(), "vlA:", s.ds);
  s.loadB = startLoad(*rig.b, "vlB:", s.ds);
  s.beforeA = MigrationMetrics::read(rig.a());
  s.beforeB = MigrationMetrics::read(*rig.b);
  INFO("A: " << s.beforeA.describe() << "\nB: " << s.beforeB.describe());
  REQUIRE(s.beforeA.epoch >= 0);
  REQUIRE(s.beforeB.epoch >= 0);
  REQUIRE(s.beforeA.moved == 0);
  writeConfig(rig.a(), rig.nextA);
  REQUIRE(waitUntil([&] { return infoField(ca, "cluster_phase") == "prepared"; }, kConverge, 50ms));
  CHECK(MigrationMetrics::read(rig.a()).epoch == s.beforeA.epoch + 1);
  expectNothingMoves(rig, ca, cb);
  return s;
}

// B gets the edit; both must finish; the loads stop and everything is checked.
void reloadBAndFinish(Rig& rig, Client& ca, Started& s) {
  const auto t0 = std::chrono::steady_clock::now();
  writeConfig(*rig.b, rig.nextB);
  const bool done = waitBothDone(rig, s.beforeA, s.beforeB);
  const long long ms = elapsedMs(t0);
  const LoadSummary la = s.loadA->stop(), lb = s.loadB->stop();
  if (!done) {
    FAIL("no cut-over on both within " << kDone.count() << " ms; A: "
         << MigrationMetrics::read(rig.a()).describe() << "\nB: "
         << MigrationMetrics::read(*rig.b).describe() << "\nA's INFO:\n" << infoText(ca));
  }
  WARN("migration after B's reload took " << ms << " ms");
  checkBothFinished(rig, ca, s.ds, s.beforeA, s.beforeB, la, lb);
}

// What an operator sees on A while B lags: two members, one ready, B stable on the ring A
// is leaving, in INFO, in the metrics and in the log.
void expectBlockedVisibly(Rig& rig, Client& ca) {
  std::string info;
  const bool visible = waitUntil(
      [&] {
        info = infoText(ca);
        return infoField(ca, "cluster_members") == "2" &&
               infoField(ca, "cluster_members_ready") == "1" && !memberLine(info, "b").empty() &&
               rig.a().log().find("migration waits for proxy instances") != std::string::npos;
      },
      kConverge, 100ms);
  INFO("A's INFO:\n" << info << "\nA's log:\n" << rig.a().logTail(30));
  REQUIRE(visible);
  const std::string lineA = memberLine(info, "a"), lineB = memberLine(info, "b");
  CHECK(memberField(lineB, "phase") == "stable");
  CHECK(memberField(lineA, "phase") == "prepared");
  CHECK_FALSE(memberField(lineB, "to").empty());
  CHECK(memberField(lineB, "to") != memberField(lineA, "to"));
  CHECK(memberField(lineA, "from") == memberField(lineB, "to"));  // B is still on A's R0
  CHECK(metricSum(rig.a().metricsPort(), "ringproxy_cluster_members") == 2);
  CHECK(metricSum(rig.a().metricsPort(), "ringproxy_cluster_members_ready") == 1);
  const std::string waitLine =
      "migration waits for proxy instances that are not at this ring/phase yet: b(stable";
  CHECK(rig.a().log().find(waitLine) != std::string::npos);
}

// Case 3 up to the kill: both reload, B (smallest id) runs the mover and has moved keys,
// A runs none. Returns B's load (stopped: its clients go away with it) and what s4 held.
struct AtKill {
  LoadSummary loadB;
  MigrationMetrics a;
  size_t moverStartsA = 0;  // "mover=<A's id>" lines in A's log so far
  long long onS4 = 0;
};

AtKill killTheMover(Rig& rig, Client& ca, VerifyLoad& loadB) {
  writeConfig(rig.a(), rig.nextA);
  writeConfig(*rig.b, rig.nextB);
  // A may run the mover for a moment (while it is the only migrating member); it hands
  // over once it sees B migrating. INFO lists migration_source_* only while a mover runs.
  std::string infoA;
  const bool bLeads = waitUntil(
      [&] {
        infoA = infoText(ca);
        return MigrationMetrics::read(*rig.b).moved > 0 && infoField(ca, "cluster_phase") == "migrating" &&
               infoA.find("migration_source_") == std::string::npos;
      },
      kConverge, 50ms);
  if (!bLeads) FAIL("B never ran the mover alone; A's INFO:\n" << infoA);
  AtKill at;
  at.a = MigrationMetrics::read(rig.a());
  at.moverStartsA = countOf(rig.a().log(), "mover=a-survivor");
  at.loadB = loadB.stop();
  rig.b->process().kill(SIGKILL);
  REQUIRE(rig.b->process().wait(5s).has_value());
  at.onS4 = rig.s4Keys();
  return at;
}

// After the kill: B's record expires while the migration is still active on A, then A
// finishes alone. Returns whether it did (within kDone); `report` says how it went.
bool finishAlone(Rig& rig, Client& ca, const MigrationMetrics& beforeA, std::string& report) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string info;
  const bool expired = waitUntil(
      [&] { return (info = infoText(ca)).find("cluster_members:1\r\n") != std::string::npos; },
      kConverge, 100ms);
  const long long expiredMs = elapsedMs(t0);
  CHECK(expired);
  // A waited for B's record: still migrating when B was first seen gone.
  CHECK(info.find("migration_active:1\r\n") != std::string::npos);
  CHECK(infoField(ca, "cluster_members_ready") == "1");
  const bool done = waitUntil(
      [&] {
        const MigrationMetrics m = MigrationMetrics::read(rig.a());
        return m.active == 0 && m.epoch >= beforeA.epoch + 2;
      },
      kDone, 100ms);
  report = cat("B's record gone ", expiredMs, " ms after the kill; A finished ", elapsedMs(t0),
               " ms after it; A: ", MigrationMetrics::read(rig.a()).describe());
  return done;
}

}  // namespace

TEST_CASE("cluster: A reloads and B seconds later - no key moves until both agree and then all move",
          "[cluster]") {
  Rig rig(clusterYaml("a", 0), clusterYaml("b", 0));
  Client ca = rig.a().client(30s), cb = rig.b->client(30s);
  Started s = reloadAOnly(rig, ca, cb);
  reloadBAndFinish(rig, ca, s);
  CHECK(infoField(cb, "cluster_phase") == "stable");
  CHECK(infoField(cb, "migration_active") == "0");
  // A background mover ran (normally on A, the smallest id; B may start one for the
  // moment it is the only migrating member).
  const bool moverRan = rig.a().log().find("migration started epoch=") != std::string::npos ||
                        rig.b->log().find("migration started epoch=") != std::string::npos;
  CHECK(moverRan);
}

TEST_CASE("cluster: B never reloads - no key moves and A shows why until B reloads too",
          "[cluster]") {
  Rig rig(clusterYaml("a", 0), clusterYaml("b", 0));
  Client ca = rig.a().client(30s), cb = rig.b->client(30s);
  Started s = reloadAOnly(rig, ca, cb);

  expectBlockedVisibly(rig, ca);
  expectNothingMoves(rig, ca, cb);  // still nothing, after the operator-visible checks

  reloadBAndFinish(rig, ca, s);
  CHECK(waitUntil([&] { return metricSum(rig.a().metricsPort(), "ringproxy_cluster_members_ready") == 2; },
                  kConverge, 100ms));
}

TEST_CASE("cluster: the instance running the mover is killed with SIGKILL and the other finishes",
          "[cluster]") {
  // B's id sorts first, so B runs the background mover; at 2,000 keys/s the ~25,000 keys
  // that move to s4 take long enough for B to be killed early and leave A real work.
  constexpr size_t kSlowKeys = 100000;
  Rig rig(clusterYaml("a-survivor", 2000), clusterYaml("0b-mover", 2000));
  Client ca = rig.a().client(30s), cb = rig.b->client(30s);
  waitMembersConverged(ca, cb);
  const Dataset ds = loadDataset(ca, kSlowKeys);
  const size_t moving = movingKeys(ds.keys(), rig.cluster.ring(), *rig.newRing);
  auto loadA = startLoad(rig.a(), "vlA:", ds);
  auto loadB = startLoad(*rig.b, "vlB:", ds);
  const MigrationMetrics beforeA = MigrationMetrics::read(rig.a());
  REQUIRE(beforeA.epoch >= 0);

  const AtKill at = killTheMover(rig, ca, *loadB);
  INFO(at.onS4 << " of " << moving << " moving dataset keys were on s4 at the kill");
  REQUIRE(at.onS4 < static_cast<long long>(moving));  // really mid-migration
  std::string report;
  const bool done = finishAlone(rig, ca, beforeA, report);
  const LoadSummary la = loadA->stop();
  const MigrationMetrics after = MigrationMetrics::read(rig.a());
  WARN("kill -9 of the mover at " << at.onS4 << "/" << moving << " keys on s4; " << report);
  INFO("A at the kill: " << at.a.describe() << "\nA now: " << after.describe() << "\nA's INFO:\n"
       << infoText(ca));
  REQUIRE(done);
  CHECK(after.epoch == beforeA.epoch + 2);
  // A took the mover over after the kill, and it had keys left to move.
  CHECK(countOf(rig.a().log(), "mover=a-survivor") > at.moverStartsA);
  CHECK(after.moved > at.a.moved);
  CHECK(after.conflicts == 0);
  CHECK(after.errors == 0);
  checkLoad("A", la, rig);
  checkLoad("B (until its kill)", at.loadB, rig);
  checkDataset(rig, ca, ds);
}

// An operator restarts B (instead of reloading it) with the edited file while A is
// prepared: the migration must still move every key; nothing may be lost.
TEST_CASE("cluster: B restarted (not reloaded) with the new file while A is prepared loses nothing",
          "[cluster]") {
  Rig rig(clusterYaml("a", 0), clusterYaml("b", 0));
  Client ca = rig.a().client(30s), cb = rig.b->client(30s);
  waitMembersConverged(ca, cb);
  const Dataset ds = loadDataset(ca, kKeys);
  writeConfig(rig.a(), rig.nextA);
  REQUIRE(waitUntil([&] { return infoField(ca, "cluster_phase") == "prepared"; }, kConverge, 50ms));
  REQUIRE(rig.b->stop() == 0);
  writeConfig(*rig.b, rig.nextB);
  rig.b->restart();
  cb = rig.b->client(30s);
  REQUIRE(waitUntil([&] { return infoField(ca, "migration_active") == "0"; }, kDone, 100ms));
  REQUIRE(waitUntil([&] { return infoField(cb, "migration_active") == "0"; }, kDone, 100ms));
  const DatasetReport viaA = verifyDataset(ca, ds, portsOf(rig.nextA), *rig.newRing);
  INFO("through A: " << viaA.describe() << "\nA's log:\n" << rig.a().logTail(12));
  CHECK(viaA.ok());
  const DatasetReport viaB = verifyDataset(cb, ds, portsOf(rig.nextA), *rig.newRing);
  INFO("through B: " << viaB.describe());
  CHECK(viaB.ok());
}

// A third instance starts with the old file while A and B move keys: it may refuse a
// moving key (an error), but it must never answer "missing" for a key that moved.
TEST_CASE("cluster: an instance started with the old ring mid-migration never reads a moved key as missing",
          "[cluster]") {
  Rig rig(clusterYaml("a", 2000), clusterYaml("b", 2000));
  Client ca = rig.a().client(30s), cb = rig.b->client(30s);
  waitMembersConverged(ca, cb);
  const Dataset ds = loadDataset(ca, 60000);
  writeConfig(rig.a(), rig.nextA);
  writeConfig(*rig.b, rig.nextB);
  REQUIRE(waitUntil([&] { return rig.s4Keys() > 2000; }, kConverge, 50ms));
  ProxyOptions oc = rig.a().options();
  oc.extraYaml = clusterYaml("c", 2000);
  Proxy c(rig.cluster.dir(), oc, "c");
  Client cc = c.client(30s);
  size_t wrong = 0, refused = 0;
  std::string first;
  for (size_t i = 0; i < ds.size; ++i) {
    const Reply r = cc.cmd(ds.readCommand(i));
    if (r.isError()) { ++refused; continue; }
    const std::string problem = ds.checkRead(i, r);
    if (!problem.empty() && wrong++ == 0) first = problem;
  }
  INFO(wrong << " wrong reads through C (first: " << first << "), " << refused << " refused\nC log:\n" << c.logTail(30) << "\nC info:\n" << cc.cmd({"INFO", "migration"}).str);
  CHECK(wrong == 0);
}
