// Reload planning: which changes of a new file apply live (see config_diff.h).
#include "config/config_diff.h"

namespace config {

namespace {
bool sameEndpoint(const Endpoint& a, const Endpoint& b) { return a.host == b.host && a.port == b.port; }

void keepRestartOnly(const ProxyConfig& running, ReloadPlan& plan) {
  ProxyConfig& e = plan.effective;
  if (!sameEndpoint(e.listen, running.listen)) {
    plan.notes.push_back("listen: changed to " + e.listen.str() + "; needs a restart, still " + running.listen.str());
    e.listen = running.listen;
  }
  if (e.threads != running.threads) {
    plan.notes.push_back("threads: changed; needs a restart, still " + std::to_string(running.threads));
    e.threads = running.threads;
  }
  if (e.metrics.enabled != running.metrics.enabled || !sameEndpoint(e.metrics.listen, running.metrics.listen)) {
    plan.notes.push_back("metrics: changed; needs a restart");
    e.metrics = running.metrics;
  }
  if (e.health.enabled != running.health.enabled || !sameEndpoint(e.health.listen, running.health.listen)) {
    plan.notes.push_back("health: changed; needs a restart");
    e.health = running.health;
  }
  const ClusterConfig& c = e.cluster;
  const ClusterConfig& rc = running.cluster;
  if (c.enabled != rc.enabled || c.id != rc.id || c.db != rc.db || c.heartbeatMs != rc.heartbeatMs ||
      c.memberTtlMs != rc.memberTtlMs) {
    plan.notes.push_back("cluster: changed; needs a restart");
    e.cluster = running.cluster;
  }
  // The file passed validation with both settings, but the running membership stays.
  if (e.backend.autoEject.enabled && e.cluster.enabled) {
    plan.notes.push_back("backend.auto_eject: needs cluster.enabled: false, which applies only after a "
                         "restart; auto_eject stays off");
    e.backend.autoEject.enabled = false;
  }
  const routing::RingOptions& a = e.ring;
  const routing::RingOptions& b = running.ring;
  if (a.distribution != b.distribution || a.hash != b.hash || a.hashTag != b.hashTag ||
      a.vnodesPerWeight != b.vnodesPerWeight) {
    // It would move almost every key at once; shard changes are what migrate live.
    plan.notes.push_back("ring: distribution/hash/hash_tag/vnodes changed; not applied live (it would move "
                         "nearly every key), still the running settings");
    e.ring = running.ring;
  }
}
}  // namespace

bool sameRing(const ProxyConfig& a, const ProxyConfig& b) {
  if (a.ring.distribution != b.ring.distribution || a.ring.hash != b.ring.hash ||
      a.ring.hashTag != b.ring.hashTag || a.ring.vnodesPerWeight != b.ring.vnodesPerWeight ||
      a.shards.size() != b.shards.size()) {
    return false;
  }
  for (size_t i = 0; i < a.shards.size(); ++i) {
    if (a.shards[i].name != b.shards[i].name || a.shards[i].weight != b.shards[i].weight) return false;
  }
  return true;
}

ReloadPlan planReload(const ProxyConfig& running, const ProxyConfig& loaded) {
  ReloadPlan plan{loaded, {}, false};
  keepRestartOnly(running, plan);
  plan.ringChanged = !sameRing(running, loaded);
  return plan;
}

}  // namespace config
