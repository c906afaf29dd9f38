// Sums per-worker cells into prometheus-cpp metric families on each scrape.
#include "proxy/metrics/metrics_collector.h"

#include <limits>
#include <string>
#include <string_view>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

namespace metrics {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricsCollector::MetricsCollector(std::vector<std::string> commandNames,
                                   std::vector<const WorkerCells*> workers, const ReloadStats* reloads,
                                   const MigrationStats* migration, const CacheStats* cache)
    : commandNames_(std::move(commandNames)),
      workers_(std::move(workers)),
      reloads_(reloads),
      migration_(migration),
      cache_(cache) {}

MetricFamily MetricsCollector::family(MetricId id) const {
  const MetricDef& d = kMetrics[id];
  MetricFamily f;
  f.name = std::string(d.name);
  f.help = std::string(d.help);
  f.type = d.kind == Kind::Counter ? MetricType::Counter
           : d.kind == Kind::Gauge ? MetricType::Gauge
                                   : MetricType::Histogram;
  return f;
}

// A family with one unlabelled sample.
MetricFamily MetricsCollector::single(MetricId id, double value) const {
  MetricFamily f = family(id);
  ClientMetric m;
  if (kMetrics[id].kind == Kind::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

void MetricsCollector::collectRequests(std::vector<MetricFamily>& out) const {
  MetricFamily f = family(kRequests);
  const size_t n = commandNames_.size();
  for (size_t c = 0; c <= n; ++c) {
    uint64_t sum = 0;
    for (const WorkerCells* w : workers_) sum += w->requests(c);
    if (sum == 0) continue;  // keep the exposition small: only commands seen
    ClientMetric m;
    m.label.push_back({"command", c < n ? commandNames_[c] : std::string("unknown")});
    m.counter.value = static_cast<double>(sum);
    f.metric.push_back(std::move(m));
  }
  out.push_back(std::move(f));

  MetricFamily p = family(kProtocolErrors);
  ClientMetric pm;
  MetricFamily c = family(kClientConnections);
  ClientMetric cm;
  for (const WorkerCells* w : workers_) {
    pm.counter.value += static_cast<double>(w->protocolErrors.get());
    cm.gauge.value += static_cast<double>(w->clients.get());
  }
  p.metric.push_back(std::move(pm));
  c.metric.push_back(std::move(cm));
  out.push_back(std::move(p));
  out.push_back(std::move(c));

  MetricFamily closed = family(kClientsClosed);
  for (size_t r = 0; r < kCloseReasons.size(); ++r) {
    ClientMetric m;
    m.label.push_back({"reason", std::string(kCloseReasons[r])});
    for (const WorkerCells* w : workers_) m.counter.value += static_cast<double>(w->clientsClosed[r].get());
    closed.metric.push_back(std::move(m));
  }
  out.push_back(std::move(closed));
}

void MetricsCollector::collectDuration(std::vector<MetricFamily>& out) const {
  MetricFamily f = family(kRequestDuration);
  ClientMetric m;
  uint64_t cumulative = 0;
  uint64_t sumNanos = 0;
  for (size_t b = 0; b <= kDurationBuckets.size(); ++b) {
    for (const WorkerCells* w : workers_) cumulative += w->bucket(b);
    ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound = b < kDurationBuckets.size() ? kDurationBuckets[b]
                                                     : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(bucket);
  }
  for (const WorkerCells* w : workers_) sumNanos += w->durationSumNanos();
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(sumNanos) / 1e9;
  f.metric.push_back(std::move(m));
  out.push_back(std::move(f));
}

void MetricsCollector::collectBackend(std::vector<MetricFamily>& out) const {
  MetricFamily req = family(kBackendRequests);
  MetricFamily err = family(kBackendErrors);
  MetricFamily up = family(kBackendConnectionsUp);
  const ShardDirectory& directory = ShardDirectory::instance();
  for (size_t s = 0; s < directory.size(); ++s) {
    const std::string& name = directory.name(s);
    ClientMetric r;
    ClientMetric u;
    r.label.push_back({"shard", name});
    u.label.push_back({"shard", name});
    std::array<uint64_t, kBackendErrorKinds.size()> errors{};
    for (const WorkerCells* w : workers_) {
      r.counter.value += static_cast<double>(w->shard(s).requests.get());
      u.gauge.value += static_cast<double>(w->shard(s).connectionsUp.get());
      for (size_t k = 0; k < errors.size(); ++k) errors[k] += w->shard(s).errors[k].get();
    }
    req.metric.push_back(std::move(r));
    up.metric.push_back(std::move(u));
    for (size_t k = 0; k < errors.size(); ++k) {
      ClientMetric e;
      e.label.push_back({"shard", name});
      e.label.push_back({"kind", std::string(kBackendErrorKinds[k])});
      e.counter.value = static_cast<double>(errors[k]);
      err.metric.push_back(std::move(e));
    }
  }
  out.push_back(std::move(req));
  out.push_back(std::move(err));
  out.push_back(std::move(up));
}

void MetricsCollector::collectReloads(std::vector<MetricFamily>& out) const {
  if (reloads_ == nullptr) return;
  MetricFamily total = family(kConfigReloads);
  for (const char* result : {"success", "failure"}) {
    ClientMetric m;
    m.label.push_back({"result", result});
    const auto& cell = std::string_view(result) == "success" ? reloads_->success : reloads_->failure;
    m.counter.value = static_cast<double>(cell.load(std::memory_order_relaxed));
    total.metric.push_back(std::move(m));
  }
  out.push_back(std::move(total));
  MetricFamily last = family(kConfigLastReloadSuccess);
  ClientMetric m;
  m.gauge.value = reloads_->lastSuccessUnix.load(std::memory_order_relaxed);
  last.metric.push_back(std::move(m));
  out.push_back(std::move(last));
}

void MetricsCollector::collectMigration(std::vector<MetricFamily>& out) const {
  const auto one = [&](MetricId id, double value) { out.push_back(single(id, value)); };
  uint64_t onAccess = 0;
  for (const WorkerCells* w : workers_) onAccess += w->migrateOnAccess.get();
  one(kMigrationAccessMigrates, static_cast<double>(onAccess));
  if (migration_ == nullptr) return;
  const auto get = [](const auto& atomic) { return static_cast<double>(atomic.load(std::memory_order_relaxed)); };
  one(kMigrationActive, get(migration_->active));
  one(kMigrationKeysMoved, get(migration_->moved));
  one(kMigrationKeysScanned, get(migration_->scanned));
  one(kMigrationConflicts, get(migration_->conflicts));
  one(kMigrationErrors, get(migration_->errors));
  one(kRingEpoch, get(migration_->epoch));
  one(kClusterMembers, get(migration_->members));
  one(kClusterMembersReady, get(migration_->membersReady));
}

void MetricsCollector::collectCache(std::vector<MetricFamily>& out) const {
  const auto one = [&](MetricId id, double value) { out.push_back(single(id, value)); };
  double hits = 0, misses = 0, evictions = 0, bytes = 0, entries = 0;
  for (const WorkerCells* w : workers_) {
    hits += static_cast<double>(w->cacheHits.get());
    misses += static_cast<double>(w->cacheMisses.get());
    evictions += static_cast<double>(w->cacheEvictions.get());
    bytes += static_cast<double>(w->cacheBytes.get());
    entries += static_cast<double>(w->cacheEntries.get());
  }
  one(kCacheHits, hits);
  one(kCacheMisses, misses);
  one(kCacheEvictions, evictions);
  one(kCacheBytes, bytes);
  one(kCacheEntries, entries);
  MetricFamily flushes = family(kCacheFlushes);
  const ShardDirectory& directory = ShardDirectory::instance();
  for (size_t s = 0; s < directory.size(); ++s) {
    for (size_t r = 0; r < kFlushReasons.size(); ++r) {
      ClientMetric m;
      m.label.push_back({"shard", directory.name(s)});
      m.label.push_back({"reason", std::string(kFlushReasons[r])});
      for (const WorkerCells* w : workers_) m.counter.value += static_cast<double>(w->shard(s).cacheFlushes[r].get());
      flushes.metric.push_back(std::move(m));
    }
  }
  out.push_back(std::move(flushes));
  if (cache_ == nullptr) return;
  one(kCacheInvalidations, static_cast<double>(cache_->invalidatedKeys.load(std::memory_order_relaxed)));
  one(kHotKeys, static_cast<double>(cache_->hotKeys.load(std::memory_order_relaxed)));
  one(kHotKeyReplicas, static_cast<double>(cache_->replicas.load(std::memory_order_relaxed)));
  MetricFamily rates = family(kHotKeyRate);
  for (const auto& [key, rate] : cache_->keys()) {
    ClientMetric m;
    m.label.push_back({"key", key});
    m.gauge.value = rate;
    rates.metric.push_back(std::move(m));
  }
  out.push_back(std::move(rates));
}

void MetricsCollector::collectEjection(std::vector<MetricFamily>& out) const {
  MetricFamily ejected = family(kBackendEjected);
  MetricFamily ejections = family(kBackendEjections);
  const ShardDirectory& directory = ShardDirectory::instance();
  for (size_t s = 0; s < directory.size(); ++s) {
    ClientMetric g;
    ClientMetric c;
    g.label.push_back({"shard", directory.name(s)});
    c.label.push_back({"shard", directory.name(s)});
    if (eject_ != nullptr) {
      g.gauge.value = eject_->ejected[s].load(std::memory_order_relaxed);
      c.counter.value = static_cast<double>(eject_->ejections[s].load(std::memory_order_relaxed));
    }
    ejected.metric.push_back(std::move(g));
    ejections.metric.push_back(std::move(c));
  }
  out.push_back(std::move(ejected));
  out.push_back(std::move(ejections));
}

std::vector<MetricFamily> MetricsCollector::Collect() const {
  std::vector<MetricFamily> out;
  collectRequests(out);
  collectDuration(out);
  collectBackend(out);
  collectReloads(out);
  collectMigration(out);
  collectCache(out);
  collectEjection(out);
  return out;
}

}  // namespace metrics
