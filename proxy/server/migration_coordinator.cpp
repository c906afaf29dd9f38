// MigrationCoordinator: snapshots, barrier, background mover, cut-over, state file.
#include "proxy/server/migration_coordinator.h"
#include "proxy/server/migration_coordinator_impl.h"

#include <boost/asio.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include "config/config_diff.h"
#include "config/config_loader.h"
#include "proxy/log.h"

namespace proxy {

namespace asio = boost::asio;

namespace {
constexpr auto kTick = std::chrono::seconds(1);
constexpr int kLogEveryTicks = 5;

const config::ShardConfig* findShard(const std::vector<config::ShardConfig>& shards, const std::string& name) {
  for (const auto& s : shards) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool sameOptions(const routing::RingOptions& a, const routing::RingOptions& b) {
  return a.distribution == b.distribution && a.hash == b.hash && a.hashTag == b.hashTag &&
         a.vnodesPerWeight == b.vnodesPerWeight;
}

std::string statePathFor(const config::ProxyConfig& cfg) {
  if (!cfg.migration.stateFile.empty()) return cfg.migration.stateFile;
  return cfg.sourcePath.empty() ? std::string() : cfg.sourcePath + ".migration";
}

config::Endpoint parseEndpoint(const std::string& text) {
  const size_t colon = text.rfind(':');
  config::Endpoint e;
  if (colon == std::string::npos) return e;
  e.host = text.substr(0, colon);
  if (e.host.size() > 2 && e.host.front() == '[') e.host = e.host.substr(1, e.host.size() - 2);
  e.port = static_cast<uint16_t>(std::stoul(text.substr(colon + 1)));
  return e;
}
}  // namespace

RingPtr buildRing(const std::vector<routing::ShardSpec>& shards, const routing::RingOptions& options) {
  std::string error;
  RingPtr ring = routing::HashRing::build(shards, options, &error);
  if (!ring) throw std::runtime_error("ring: " + error);
  return ring;
}

std::string hexDigest(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

RoutingSnapshot MigrationCoordinator::Impl::stableSnapshot() const {
  RoutingSnapshot snap;
  snap.config = target;
  snap.ring = buildRing(config::ringShards(*target), target->ring);
  snap.epoch = epoch;
  applyEjection(snap);
  return snap;
}

// backend.auto_eject: the ejected shards at weight 0 in a second ring over the same shard
// list (indices unchanged); RoutingSnapshot::ownerOf sends their keys by it. Only on a
// stable snapshot: during a migration keys route by its two rings alone.
void MigrationCoordinator::Impl::applyEjection(RoutingSnapshot& snap) const {
  if (ejected.empty() || !target->backend.autoEject.enabled) return;
  std::vector<routing::ShardSpec> specs = config::ringShards(*target);
  std::vector<uint8_t> flags(specs.size(), 0);
  bool any = false;
  bool live = false;
  for (size_t s = 0; s < specs.size(); ++s) {
    const bool out = std::find(ejected.begin(), ejected.end(), specs[s].name) != ejected.end();
    if (out && specs[s].weight > 0) {
      flags[s] = 1;
      specs[s].weight = 0;
      any = true;
    }
    live = live || specs[s].weight > 0;
  }
  if (!any || !live) return;  // the prober never ejects the last shard with keys
  snap.ejectedRing = buildRing(specs, target->ring);
  snap.ejected = std::move(flags);
}

// What the workers run with in the current phase (see Phase in the impl header).
RoutingSnapshot MigrationCoordinator::Impl::phaseSnapshot() const {
  if (!active) return stableSnapshot();
  RoutingSnapshot snap;
  snap.config = unionConfig;
  snap.epoch = epoch;
  if (phase == Phase::Prepared && !isolated) {
    snap.ring = from;  // exactly the old placement
    return snap;
  }
  snap.ring = to;
  snap.previous = from;
  snap.moves = isolated ? RoutingSnapshot::Moves::Refuse
               : phase == Phase::Migrating ? RoutingSnapshot::Moves::Migrate
                                           : RoutingSnapshot::Moves::Hold;
  return snap;
}

// The union config: the new shard list, then each removed shard with weight 0 (it keeps
// serving its keys until they moved). R0 and R1 over the same list.
void MigrationCoordinator::Impl::plan(std::vector<config::ShardConfig> oldShards) {
  fromShards = std::move(oldShards);
  rebuildUnion();
  std::vector<routing::ShardSpec> r0;
  std::vector<routing::ShardSpec> oldSpecs;
  for (const auto& s : fromShards) oldSpecs.push_back({s.name, s.weight});
  for (const auto& s : unionConfig->shards) {
    const config::ShardConfig* old = findShard(fromShards, s.name);
    r0.push_back({s.name, old ? old->weight : 0});
  }
  from = buildRing(r0, target->ring);
  to = buildRing(config::ringShards(*unionConfig), target->ring);
  fromDigest = hexDigest(buildRing(oldSpecs, target->ring)->digest());
  toDigest = hexDigest(buildRing(config::ringShards(*target), target->ring)->digest());
}

void MigrationCoordinator::Impl::rebuildUnion() {
  auto u = std::make_shared<config::ProxyConfig>(*target);
  for (const auto& old : fromShards) {
    if (findShard(u->shards, old.name) != nullptr) continue;
    config::ShardConfig draining = old;
    draining.weight = 0;
    u->shards.push_back(draining);
  }
  unionConfig = std::move(u);
}

void MigrationCoordinator::Impl::begin(ConfigPtr next) {
  std::vector<config::ShardConfig> old = target->shards;
  target = std::move(next);
  plan(std::move(old));
  startPlan();
  logx::info("migration planned epoch=" + std::to_string(epoch) + " from_digest=" + fromDigest +
             " to_digest=" + toDigest + " shards=" + std::to_string(unionConfig->shards.size()));
  enter(Phase::Prepared);
}

// A plan just built (a reload, or joining another instance's): fresh cursors, the next
// epoch, totals counted from here, and the state file written before any worker can move
// a key.
void MigrationCoordinator::Impl::startPlan() {
  cursors.assign(unionConfig->shards.size(), mig::SourceCursor{});
  resumeCursors.clear();
  active = true;
  ++epoch;
  startedAt = Clock::now();
  movedAtStart = base.moved;
  conflictsAtStart = base.conflicts;
  saveState();
}

void MigrationCoordinator::Impl::startMover() {
  if (moverStarted) return;
  moverStarted = true;
  logx::info("migration started epoch=" + std::to_string(epoch) + " mover=" + selfId);
  mig::MigrationPlan p;
  p.from = from;
  p.to = to;
  for (const auto& s : unionConfig->shards) {
    const config::Credentials& c = s.credentials ? *s.credentials : unionConfig->backend.credentials;
    p.shards.push_back({s.name, s.address.host, s.address.port, c.username, c.password});
  }
  {
    std::lock_guard<std::mutex> lock(cursorMutex);
    p.start = resumeCursors.empty() ? cursors : resumeCursors;
  }
  p.batchKeys = target->migration.batchKeys;
  p.maxKeysPerSecond = target->migration.maxKeysPerSecond;
  p.migrateTimeoutMs = target->migration.timeoutMs;
  p.ioTimeoutMs = std::max<uint32_t>(10'000, target->migration.timeoutMs * 2);
  mig::Hooks hooks;
  hooks.cursorSaved = [this](size_t shard, mig::SourceCursor c) {
    std::lock_guard<std::mutex> lock(cursorMutex);
    if (shard < cursors.size()) cursors[shard] = c;
    cursorsDirty = true;
  };
  hooks.finished = [this, e = epoch](bool ok) {
    asio::post(ioc, [this, e, ok] {
      if (!active || epoch != e || !moverStarted) return;
      if (ok) return cutOver();
      logx::error("migration cannot proceed: the plan was refused by the mover; keys stay where they are");
    });
  };
  hooks.log = [](int level, std::string line) {
    if (level == 0) logx::info(line);
    else if (level == 1) logx::warn(line);
    else logx::error(line);
  };
  migrator = std::make_unique<mig::Migrator>(std::move(p), std::move(hooks));
  migrator->start();
  ticks = 0;
  tick.expires_after(kTick);
  tick.async_wait([this](const boost::system::error_code& ec) { if (!ec) onTick(); });
}

// Leadership moved to another instance (or the migration ended): keep the totals and
// the cursors (they resume if leadership comes back).
void MigrationCoordinator::Impl::stopMover() {
  if (!migrator) return;
  migrator->stop();
  const mig::Migrator::Progress t = migrator->totals();
  base.moved += t.moved;
  base.scanned += t.scanned;
  base.conflicts += t.conflicts;
  base.errors += t.errors;
  migrator.reset();
  moverStarted = false;
  tick.cancel();
  std::lock_guard<std::mutex> lock(cursorMutex);
  resumeCursors = cursors;
}

void MigrationCoordinator::Impl::onTick() {
  if (!migrator) return;
  const mig::Migrator::Progress t = migrator->totals();
  publishStats(t);
  saveState();
  if (++ticks % kLogEveryTicks == 0) logProgress(t);
  tick.expires_after(kTick);
  tick.async_wait([this](const boost::system::error_code& ec) { if (!ec) onTick(); });
}

void MigrationCoordinator::Impl::publishStats(const mig::Migrator::Progress& t) {
  stats.members.store(membership ? view.members.size() : 1, std::memory_order_relaxed);
  stats.membersReady.store(membersReady(), std::memory_order_relaxed);
  stats.active.store(active ? 1 : 0, std::memory_order_relaxed);
  stats.epoch.store(epoch, std::memory_order_relaxed);
  stats.moved.store(base.moved + t.moved, std::memory_order_relaxed);
  stats.scanned.store(base.scanned + t.scanned, std::memory_order_relaxed);
  stats.conflicts.store(base.conflicts + t.conflicts, std::memory_order_relaxed);
  stats.errors.store(base.errors + t.errors, std::memory_order_relaxed);
  stats.setInfo(infoText(t));
}

std::string MigrationCoordinator::Impl::infoText(const mig::Migrator::Progress& t) const {
  std::string s = "migration_active:" + std::to_string(active ? 1 : 0) + "\r\n";
  s += "ring_epoch:" + std::to_string(epoch) + "\r\n";
  s += "ring_digest:" + stableDigest + "\r\n";
  s += "ring_shards:" + std::to_string(target->shards.size()) + "\r\n";
  if (active) s += "migration_previous_digest:" + fromDigest + "\r\n";
  s += "migration_keys_moved:" + std::to_string(base.moved + t.moved) + "\r\n";
  s += "migration_keys_scanned:" + std::to_string(base.scanned + t.scanned) + "\r\n";
  s += "migration_conflicts:" + std::to_string(base.conflicts + t.conflicts) + "\r\n";
  s += "migration_errors:" + std::to_string(base.errors + t.errors) + "\r\n";
  s += "migration_reload_waiting:" + std::to_string(waiting ? 1 : 0) + "\r\n";
  s += clusterInfo();
  if (!active || !migrator) return s;
  for (size_t i = 0; i < unionConfig->shards.size(); ++i) {
    const mig::Migrator::Progress p = migrator->progress(i);
    s += "migration_source_" + unionConfig->shards[i].name + ":pass=" + std::to_string(p.pass) +
         ",scanned=" + std::to_string(p.scanned) + ",moved=" + std::to_string(p.moved) +
         ",conflicts=" + std::to_string(p.conflicts) + ",errors=" + std::to_string(p.errors) +
         ",keys_at_start=" + std::to_string(p.sourceKeysAtStart) + ",done=" + std::to_string(p.done ? 1 : 0) +
         "\r\n";
  }
  return s;
}

void MigrationCoordinator::Impl::logProgress(const mig::Migrator::Progress& t) {
  const double secs = std::chrono::duration<double>(Clock::now() - startedAt).count();
  for (size_t i = 0; i < unionConfig->shards.size(); ++i) {
    const mig::Migrator::Progress p = migrator->progress(i);
    const double rate = secs > 0 ? static_cast<double>(p.scanned) / secs : 0;
    const uint64_t left = p.sourceKeysAtStart > p.scanned ? p.sourceKeysAtStart - p.scanned : 0;
    const std::string eta = p.done ? "done" : p.pass > 1 || rate <= 0 ? "verifying" :
                                     std::to_string(static_cast<uint64_t>(static_cast<double>(left) / rate)) + "s";
    logx::info("migration progress shard=" + unionConfig->shards[i].name + " pass=" + std::to_string(p.pass) +
               " scanned=" + std::to_string(p.scanned) + " moved=" + std::to_string(p.moved) +
               " scan_rate=" + std::to_string(static_cast<uint64_t>(rate)) + "/s eta=" + eta);
  }
  logx::info("migration progress total moved=" + std::to_string(t.moved) + " conflicts=" +
             std::to_string(t.conflicts) + " errors=" + std::to_string(t.errors));
}

void MigrationCoordinator::Impl::saveState() {
  if (statePath.empty()) return;
  mig::MigrationState st;
  {
    std::lock_guard<std::mutex> lock(cursorMutex);
    if (moverStarted && !cursorsDirty) return;
    st.cursors = cursors;
    cursorsDirty = false;
  }
  st.epoch = epoch;
  st.options = target->ring;
  st.fromShards = from->shards();  // both over the union, so the file says who is added/removed
  st.toShards = to->shards();
  for (const auto& s : unionConfig->shards) st.addresses.emplace_back(s.name, s.address.str());
  st.fromDigest = fromDigest;
  st.toDigest = toDigest;
  std::string error;
  if (!mig::saveState(statePath, st, &error)) {
    logx::error("migration state file not written path=" + statePath + " error=\"" + error +
                "\"; a restart now would not resume this migration");
  }
}

// Every source scanned clean: R1 alone. The state file goes only once every worker runs
// without R0, so a crash in between resumes (and finds nothing left to move).
void MigrationCoordinator::Impl::cutOver() {
  stopMover();
  ++epoch;
  const double secs = std::chrono::duration<double>(Clock::now() - startedAt).count();
  logx::info("migration cut-over epoch=" + std::to_string(epoch) + " moved=" + std::to_string(base.moved - movedAtStart) +
             " conflicts=" + std::to_string(base.conflicts - conflictsAtStart) + " seconds=" + std::to_string(secs));
  active = false;
  phase = Phase::Stable;
  finishedFrom = fromDigest;
  finishedPlan = planText();
  fromShards.clear();
  resumeCursors.clear();
  publishStats({});
  publish(stableSnapshot(), [this, e = epoch] {
    if (epoch != e) return;
    if (!statePath.empty()) mig::removeState(statePath);
    announce();
    logx::info("migration finished epoch=" + std::to_string(epoch));
    if (waiting) reload(std::exchange(waiting, nullptr));
  });
}

void MigrationCoordinator::Impl::reload(ConfigPtr next) {
  if (!active && !config::sameRing(*target, *next) && (target->backend.tls.enabled || next->backend.tls.enabled)) {
    // The mover and the membership records use hiredis 0.14, which has no TLS.
    logx::error("config reload: the shard list changed, but live rebalancing is not available with "
                "backend.tls (its control plane has no TLS); the running shards are kept");
    auto kept = std::make_shared<config::ProxyConfig>(*next);
    kept->shards = target->shards;
    next = std::move(kept);
  }
  if (!active) {
    if (!config::sameRing(*target, *next)) return begin(std::move(next));
    target = std::move(next);
    publishStats({});
    announce();  // a shard's address may have changed
    return publish(stableSnapshot(), nullptr);
  }
  if (config::sameRing(*target, *next)) {
    waiting = nullptr;         // back to the ring being built: nothing to queue
    target = std::move(next);  // new settings or addresses for the same plan
    rebuildUnion();
    announce();
    return publish(phaseSnapshot(), nullptr);
  }
  waiting = std::move(next);
  logx::warn("config reload: the ring changed again while keys are moving; the new ring applies "
             "when the current migration completes");
}

// Shard configs for the names in a state file: address and credentials from the running
// config where the shard is still in it (they may have changed), else the file's address.
std::vector<config::ShardConfig> MigrationCoordinator::Impl::shardsFromState(
    const std::vector<routing::ShardSpec>& specs, const mig::MigrationState& state,
    const config::ProxyConfig& cfg) const {
  std::vector<config::ShardConfig> out;
  for (const auto& spec : specs) {
    config::ShardConfig s;
    if (const config::ShardConfig* known = findShard(cfg.shards, spec.name)) s = *known;
    for (const auto& [name, address] : state.addresses) {
      if (name == spec.name && s.address.port == 0) s.address = parseEndpoint(address);
    }
    if (s.address.port == 0) throw std::runtime_error("migration state file " + statePath + ": no address for " + spec.name);
    s.name = spec.name;
    s.weight = spec.weight;
    out.push_back(std::move(s));
  }
  return out;
}

// The state file names both shard lists over the union (see plan()).
RoutingSnapshot MigrationCoordinator::Impl::resume(const mig::MigrationState& state, ConfigPtr cfg) {
  if (!sameOptions(state.options, cfg->ring)) {
    throw std::runtime_error("migration state file " + statePath + ": the ring settings changed while a " +
                             "migration was unfinished; restore them to finish it first");
  }
  std::vector<routing::ShardSpec> oldSpecs, newSpecs;
  for (size_t i = 0; i < state.fromShards.size() && i < state.toShards.size(); ++i) {
    if (inOldList(state.fromShards[i].weight, state.toShards[i].weight)) oldSpecs.push_back(state.fromShards[i]);
    if (inNewList(state.fromShards[i].weight, state.toShards[i].weight)) newSpecs.push_back(state.toShards[i]);
  }
  auto to = std::make_shared<config::ProxyConfig>(*cfg);
  to->shards = shardsFromState(newSpecs, state, *cfg);
  if (!config::sameRing(*to, *cfg)) waiting = cfg;
  target = std::move(to);
  plan(shardsFromState(oldSpecs, state, *cfg));
  cursors.assign(unionConfig->shards.size(), mig::SourceCursor{});
  for (size_t i = 0; i < unionConfig->shards.size(); ++i) {
    for (size_t k = 0; k < state.addresses.size() && k < state.cursors.size(); ++k) {
      if (state.addresses[k].first == unionConfig->shards[i].name) cursors[i] = state.cursors[k];
    }
  }
  resumeCursors = cursors;
  active = true;
  phase = Phase::Fenced;  // safe beside any phase of the other instances; evaluate() moves on
  epoch = state.epoch;
  startedAt = Clock::now();
  movedAtStart = base.moved;
  conflictsAtStart = base.conflicts;
  logx::info("migration resumed from state file path=" + statePath + " epoch=" + std::to_string(epoch) +
             (waiting ? "; the config file's newer ring applies after it" : ""));
  publishStats({});
  return phaseSnapshot();
}

MigrationCoordinator::MigrationCoordinator(asio::io_context& ioc, metrics::MigrationStats& stats)
    : impl_(std::make_unique<Impl>(ioc, stats)) {}

MigrationCoordinator::~MigrationCoordinator() { stop(); }

RoutingSnapshot MigrationCoordinator::initial(ConfigPtr config) {
  impl_->target = config;
  impl_->stableDigest = hexDigest(buildRing(config::ringShards(*config), config->ring)->digest());
  impl_->statePath = statePathFor(*config);
  if (!impl_->statePath.empty()) {
    std::string error;
    const std::optional<mig::MigrationState> state = mig::loadState(impl_->statePath, &error);
    if (state) return impl_->resume(*state, std::move(config));
    if (!error.empty()) throw std::runtime_error("migration state file " + impl_->statePath + ": " + error);
  }
  impl_->publishStats({});
  return impl_->stableSnapshot();
}

void MigrationCoordinator::start(Publish publish, std::function<void()> ready) {
  impl_->publish = std::move(publish);
  impl_->whenReady = std::move(ready);
  impl_->startMembership(*impl_->target);
  impl_->announce();
  impl_->evaluate();  // a resumed migration proceeds as the phase rules allow
  if (!impl_->membership) return impl_->signalReady();
  impl_->readyTimer.expires_after(std::chrono::milliseconds(impl_->target->cluster.memberTtlMs));
  impl_->readyTimer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    logx::warn("cluster: no shard answered the membership heartbeat yet; serving clients anyway");
    impl_->signalReady();
  });
}

void MigrationCoordinator::onReload(ConfigPtr config) { impl_->reload(std::move(config)); }

void MigrationCoordinator::setEjected(std::vector<std::string> names) {
  Impl& d = *impl_;
  if (names == d.ejected) return;
  d.ejected = std::move(names);
  if (d.active) {
    logx::info("auto_eject: a live rebalancing is running; routing ignores ejected shards until its cut-over");
    return;
  }
  if (d.publish) d.publish(d.stableSnapshot(), nullptr);
}

void MigrationCoordinator::stop() {
  impl_->readyTimer.cancel();
  if (impl_->migrator) impl_->migrator->stop();
  if (impl_->membership) impl_->membership->stop();
  impl_->tick.cancel();
}

}  // namespace proxy
