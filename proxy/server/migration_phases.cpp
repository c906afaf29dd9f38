// MigrationCoordinator across instances: membership heartbeats and the phase rules
// (see Phase in migration_coordinator_impl.h for why each step is safe).
#include <boost/asio.hpp>

#include <algorithm>
#include <random>

#include "config/config_loader.h"
#include "proxy/log.h"
#include "proxy/server/migration_coordinator_impl.h"

namespace proxy {

namespace asio = boost::asio;

namespace {
constexpr auto kWaitLogEvery = std::chrono::seconds(5);

// Phase's names as members publish them: 0 stable, 1 prepared, 2 fenced, 3 migrating.
const char* phaseName(int p) {
  static const char* const kNames[] = {"stable", "prepared", "fenced", "migrating"};
  return p >= 0 && p < 4 ? kNames[p] : "stable";
}
template <typename P>
const char* phaseName(P p) {
  return phaseName(static_cast<int>(p));
}

std::string randomSuffix() {
  std::random_device rd;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
  return buf;
}
}  // namespace

void MigrationCoordinator::Impl::startMembership(const config::ProxyConfig& cfg) {
  selfId = cfg.cluster.id.empty() ? cfg.listen.str() + "-" + randomSuffix() : cfg.cluster.id;
  if (!cfg.cluster.enabled) return;
  if (cfg.backend.tls.enabled) {
    logx::warn("cluster: membership records need plain connections to the shards (the control plane uses "
               "hiredis 0.14, which has no TLS); off while backend.tls is enabled");
    return;
  }
  mig::MembershipOptions o;
  o.id = selfId;
  o.address = cfg.listen.str();
  o.db = cfg.cluster.db;
  o.heartbeatMs = cfg.cluster.heartbeatMs;
  o.ttlMs = cfg.cluster.memberTtlMs;
  membership = std::make_unique<mig::Membership>(
      o, [this](mig::MemberView v) { asio::post(ioc, [this, v = std::move(v)]() mutable { onView(std::move(v)); }); },
      [](int level, std::string line) { level == 0 ? logx::info(line) : logx::warn(line); });
  lastSelfWrite = Clock::now();  // a grace of one ttl to write the first record
  membership->start();
}

void MigrationCoordinator::Impl::announce() {
  stableDigest = hexDigest(buildRing(config::ringShards(*target), target->ring)->digest());
  if (!membership) return;
  const config::ProxyConfig& shards = active ? *unionConfig : *target;
  std::vector<mig::ShardEndpoint> eps;
  for (const auto& s : shards.shards) {
    const config::Credentials& c = s.credentials ? *s.credentials : shards.backend.credentials;
    eps.push_back({s.name, s.address.host, s.address.port, c.username, c.password});
  }
  membership->setShards(std::move(eps));
  // Stable after a migration, `from` says which one finished (a freshly started instance
  // on the same ring has none, and must not count as finished).
  membership->setSelf(phaseName(phase), active ? fromDigest : finishedFrom, active ? toDigest : stableDigest,
                      active ? planText() : finishedPlan);
}

void MigrationCoordinator::Impl::onView(mig::MemberView next) {
  viewValid = viewValid || next.shardsReached > 0;
  view = std::move(next);
  checkIsolation();
  evaluate();
  // Clients are accepted once every worker runs what this first view decided (a barrier
  // behind any snapshot evaluate() just posted).
  if (whenReady && !readyPending && viewValid) {
    readyPending = true;
    publish(phaseSnapshot(), [this] { signalReady(); });
  }
  publishStats(migrator ? migrator->totals() : mig::Migrator::Progress{});
}

// How far member `m` is along this migration: 0 = elsewhere (another ring: it blocks us),
// 1 prepared, 2 fenced, 3 migrating, 4 finished (stable on R1).
int MigrationCoordinator::Impl::rankOf(const mig::MemberRecord& m) const {
  if (m.phase == "stable") return m.to == toDigest && m.from == fromDigest ? 4 : 0;
  if (m.from != fromDigest || m.to != toDigest) return 0;
  if (m.phase == "prepared") return 1;
  if (m.phase == "fenced") return 2;
  if (m.phase == "migrating") return 3;
  return 0;
}

std::vector<const mig::MemberRecord*> MigrationCoordinator::Impl::others() const {
  std::vector<const mig::MemberRecord*> out;
  for (const auto& m : view.members) {
    if (m.id != selfId) out.push_back(&m);
  }
  return out;
}

// The background mover runs on one instance: the smallest id among the migrating ones.
std::string MigrationCoordinator::Impl::leader() const {
  std::string best = selfId;
  for (const auto* m : others()) {
    if (rankOf(*m) == 3 && m->id < best) best = m->id;
  }
  return best;
}

// An instance whose record expired on the shards no longer counts for the others, who
// may move keys without it: from then on it must not touch a moving key.
void MigrationCoordinator::Impl::checkIsolation() {
  if (!membership) return;
  const auto ttl = std::chrono::milliseconds(target->cluster.memberTtlMs);
  if (view.shardsReached > 0) lastSelfWrite = view.lastSelfWrite;
  const bool now = Clock::now() - lastSelfWrite > ttl;
  if (now == isolated) return;
  isolated = now;
  if (isolated) {
    logx::error("cluster: this proxy's membership record could not be refreshed on any shard for " +
                std::to_string(target->cluster.memberTtlMs) + " ms; requests for moving keys are refused");
  }
  if (active) publish(phaseSnapshot(), nullptr);
}

void MigrationCoordinator::Impl::evaluate() {
  // Never advance on a view that has not heard from the shards: it may miss instances.
  if (isolated || (membership && !viewValid)) return;
  if (!active) return joinRunningMigration();
  int lowest = 4;
  bool anyFinished = false;
  std::string waitingFor;
  for (const auto* m : others()) {
    const int r = rankOf(*m);
    lowest = std::min(lowest, r);
    anyFinished = anyFinished || r == 4;
    if (r < static_cast<int>(phase)) {
      waitingFor += " " + m->id + "(" + m->phase + " to=" + (m->to.empty() ? "-" : m->to) + ")";
    }
  }
  const bool blocked = phase == Phase::Prepared || phase == Phase::Fenced;
  if (blocked && !waitingFor.empty() && Clock::now() - lastWaitLog > kWaitLogEvery) {
    lastWaitLog = Clock::now();
    logx::warn("migration waits for proxy instances that are not at this ring/phase yet:" + waitingFor +
               " (this one: " + phaseName(phase) + " to=" + toDigest + ")");
  }
  if (anyFinished && (phase == Phase::Fenced || phase == Phase::Migrating)) return cutOver();
  if (phase == Phase::Prepared && lowest >= 1) return enter(Phase::Fenced);
  if (phase == Phase::Fenced && lowest >= 2) return enter(Phase::Migrating);
  if (phase != Phase::Migrating) return;
  const bool lead = leader() == selfId;
  if (lead && !moverStarted) startMover();
  if (!lead && moverStarted) stopMover();
}

// Workers first (barrier), then the record: another instance that reads "fenced" from us
// can rely on every worker of ours holding moving keys.
void MigrationCoordinator::Impl::enter(Phase next) {
  phase = next;
  logx::info(std::string("migration phase=") + phaseName(next) + " epoch=" + std::to_string(epoch));
  publishStats({});
  publish(phaseSnapshot(), [this, next, e = epoch] {
    if (!active || epoch != e || phase != next) return;
    announce();
    if (!membership) evaluate();  // alone: nothing to wait for
  });
}

size_t MigrationCoordinator::Impl::membersReady() const {
  size_t n = 0;
  for (const auto& m : view.members) {
    if (m.id == selfId) ++n;
    else if (active ? rankOf(m) >= static_cast<int>(phase) : m.phase == "stable" && m.to == stableDigest) ++n;
  }
  return membership ? n : 1;
}

std::string MigrationCoordinator::Impl::clusterInfo() const {
  std::string s = "cluster_id:" + selfId + "\r\n";
  s += std::string("cluster_phase:") + phaseName(phase) + (isolated ? " (isolated)" : "") + "\r\n";
  s += "cluster_members:" + std::to_string(membership ? view.members.size() : 1) + "\r\n";
  s += "cluster_members_ready:" + std::to_string(membersReady()) + "\r\n";
  size_t i = 0;
  for (const auto& m : view.members) {
    s += "cluster_member_" + std::to_string(i++) + ":id=" + m.id + ",address=" + m.address + ",phase=" + m.phase +
         ",from=" + (m.from.empty() ? "-" : m.from) + ",to=" + m.to + "\r\n";
  }
  return s;
}

}  // namespace proxy
