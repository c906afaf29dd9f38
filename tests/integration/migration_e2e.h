// Shared by the live-rebalancing e2e tests: reading the migration metrics and INFO
// section, rewriting the running proxy's YAML (write + rename, as editors do), and the
// bounded waits for a migration to start and to finish.
// Owns: nothing; header-only helpers.
// Called by: migration_e2e_test.cpp and migration_stress_e2e_test.cpp.
#pragma once

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/text.h"

namespace testsupport::migration {

using namespace std::chrono_literals;

// Generous: CI machines are slow, and a wait that succeeds returns at once.
constexpr std::chrono::milliseconds kStartTimeout = 15s;
constexpr std::chrono::milliseconds kDoneTimeout = 120s;

// The sum of every series of metric `name` (whatever its labels) on /metrics; -1 when
// the metric is absent or the endpoint does not answer.
inline double metricSum(uint16_t metricsPort, const std::string& name) {
  const HttpResponse r = httpGet(metricsPort, "/metrics");
  if (r.status != 200) return -1;
  std::istringstream lines(r.body);
  double sum = 0;
  bool found = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
    found = true;
  }
  return found ? sum : -1;
}

// One reading of the migration metrics (-1 for any that is missing).
struct MigrationMetrics {
  double active = -1, epoch = -1, moved = -1, scanned = -1, conflicts = -1, errors = -1,
         accessMigrates = -1;

  static MigrationMetrics read(const Proxy& p) {
    const uint16_t port = p.metricsPort();
    MigrationMetrics m;
    m.active = metricSum(port, "ringproxy_migration_active");
    m.epoch = metricSum(port, "ringproxy_ring_epoch");
    m.moved = metricSum(port, "ringproxy_migration_keys_moved_total");
    m.scanned = metricSum(port, "ringproxy_migration_keys_scanned_total");
    m.conflicts = metricSum(port, "ringproxy_migration_conflicts_total");
    m.errors = metricSum(port, "ringproxy_migration_errors_total");
    m.accessMigrates = metricSum(port, "ringproxy_migration_access_migrates_total");
    return m;
  }
  std::string describe() const {
    return cat("active=", active, " epoch=", epoch, " moved=", moved, " scanned=", scanned,
               " conflicts=", conflicts, " errors=", errors, " access_migrates=", accessMigrates);
  }
};

// The shard ports in the order of the ring's shards (the order checkPlacement needs).
inline std::vector<uint16_t> portsOf(const ProxyOptions& opts) {
  std::vector<uint16_t> ports;
  for (const auto& s : opts.shards) {
    ports.push_back(static_cast<uint16_t>(std::stoi(s.address.substr(s.address.rfind(':') + 1))));
  }
  return ports;
}

// Writes `text` next to `path` and renames it over, as editors do.
inline void replaceFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
  }
  REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0);
}

// Rewrites the running proxy's config as `opts` (same listen and metrics ports).
inline void writeConfig(const Proxy& proxy, const ProxyOptions& opts) {
  replaceFile(proxy.configPath(), renderProxyYaml(opts, proxy.port(), proxy.metricsPort()));
}

// `field` of `INFO migration` through the proxy ("" when absent).
inline std::string infoField(Client& c, const std::string& field) {
  const Reply r = c.cmd({"INFO", "migration"});
  const size_t at = r.str.find("\n" + field + ":");
  if (r.type != ReplyType::String || at == std::string::npos) return "";
  const size_t from = at + field.size() + 2;
  return r.str.substr(from, r.str.find_first_of("\r\n", from) - from);
}

// A migration has started once the epoch rose (it rises again at cut-over, so a quick
// migration that already finished counts too).
inline bool waitMigrationStarted(const Proxy& p, double epochBefore) {
  return waitUntil([&] { return MigrationMetrics::read(p).epoch >= epochBefore + 1; },
                   kStartTimeout, 50ms);
}

// Finished: not active any more, and cut over (the epoch rose by 2 since before the edit).
inline bool waitMigrationDone(const Proxy& p, double epochBefore) {
  return waitUntil(
      [&] {
        const MigrationMetrics m = MigrationMetrics::read(p);
        return m.active == 0 && m.epoch >= epochBefore + 2;
      },
      kDoneTimeout, 100ms);
}

// Dataset keys whose owner differs between the two rings (what must move).
inline size_t movingKeys(const std::vector<std::string>& keys, const routing::HashRing& from,
                         const routing::HashRing& to) {
  size_t n = 0;
  for (const auto& k : keys) {
    if (from.shards()[from.ownerOf(k)].name != to.shards()[to.ownerOf(k)].name) ++n;
  }
  return n;
}

}  // namespace testsupport::migration
