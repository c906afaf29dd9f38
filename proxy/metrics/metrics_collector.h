// MetricsCollector: a prometheus::Collectable that sums every worker's WorkerCells into
// metric families on scrape (prometheus-cpp renders the text). Registered with the one
// Exposer the process owns; called from civetweb's threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "proxy/metrics/eject_stats.h"
#include "proxy/metrics/worker_cells.h"

namespace metrics {

class MetricsCollector : public prometheus::Collectable {
 public:
  // Shard names come from ShardDirectory (shards change with reloads).
  MetricsCollector(std::vector<std::string> commandNames, std::vector<const WorkerCells*> workers,
                   const ReloadStats* reloads = nullptr, const MigrationStats* migration = nullptr,
                   const CacheStats* cache = nullptr);
  std::vector<prometheus::MetricFamily> Collect() const override;
  // backend.auto_eject's per-shard gauge and counter (zeros when never set).
  void setEjectStats(const EjectStats* eject) { eject_ = eject; }

 private:
  prometheus::MetricFamily family(MetricId id) const;
  prometheus::MetricFamily single(MetricId id, double value) const;
  void collectRequests(std::vector<prometheus::MetricFamily>& out) const;
  void collectDuration(std::vector<prometheus::MetricFamily>& out) const;
  void collectBackend(std::vector<prometheus::MetricFamily>& out) const;
  void collectReloads(std::vector<prometheus::MetricFamily>& out) const;
  void collectMigration(std::vector<prometheus::MetricFamily>& out) const;
  void collectCache(std::vector<prometheus::MetricFamily>& out) const;
  void collectEjection(std::vector<prometheus::MetricFamily>& out) const;

  std::vector<std::string> commandNames_;
  std::vector<const WorkerCells*> workers_;
  const ReloadStats* reloads_;
  const MigrationStats* migration_;
  const CacheStats* cache_;
  const EjectStats* eject_ = nullptr;
};

}  // namespace metrics
