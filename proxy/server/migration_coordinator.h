// MigrationCoordinator: turns config reloads into routing snapshots for the workers and,
// when the ring changes, runs the live migration (design §7) from ring R0 to R1.
// Owns: the running target config, the migration in progress (both rings, the background
// mig::Migrator, the state file) and the reload that waits for it. Runs on the main
// thread's io_context; the migrator's threads only post back to it.
// Called by: proxy::Server (initial snapshot at start-up, every reload, shutdown).
//
// A migration, step by step:
//   1. Plan: the union of the old and new shard lists (a removed shard stays, weight 0,
//      "draining"; an added one is in R0 with weight 0), R0 and R1 over that one index
//      space. The plan (both shard lists, addresses, cursors) is written to the state file
//      before any key can move, so a restart resumes instead of looking keys up in the
//      wrong place.
//   2. Barrier: the snapshot {union, R1, previous R0} is posted to every worker; from then
//      on a request for a moving key moves it first (migrate_gate.cpp). The background
//      mover starts only when every worker has acknowledged the snapshot.
//   3. Background: mig::Migrator SCANs every shard and MIGRATEs keys whose R1 owner is
//      another shard, in batches, rate-limited; cursors go to the state file each second.
//   4. Cut-over: when every source has been scanned clean, the snapshot {new config, R1
//      alone} is posted; once every worker has it the state file is removed, a removed
//      shard's connections close, and a reload that arrived meanwhile starts its own
//      migration (plans never overlap: a key is always on its R0 or its R1 owner).
//
// backend.auto_eject: the ShardProber's ejected shards (setEjected) shape every stable
// snapshot (RoutingSnapshot::ejectedRing). While a migration runs they are ignored: keys
// route by its rings alone, and the ejection applies again from the cut-over.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/proxy_config.h"
#include "proxy/metrics/worker_cells.h"
#include "proxy/server/worker.h"

namespace boost::asio {
class io_context;
}

namespace proxy {

class MigrationCoordinator {
 public:
  // Posts the snapshot to every worker and calls `applied` (on the main thread) once all
  // of them run with it.
  using Publish = std::function<void(RoutingSnapshot, std::function<void()> applied)>;

  MigrationCoordinator(boost::asio::io_context& ioc, metrics::MigrationStats& stats);
  ~MigrationCoordinator();
  MigrationCoordinator(const MigrationCoordinator&) = delete;
  MigrationCoordinator& operator=(const MigrationCoordinator&) = delete;

  // Start-up: the snapshot the workers start with. Resumes an unfinished migration found
  // in the state file. Throws std::runtime_error when that file cannot be used safely.
  RoutingSnapshot initial(std::shared_ptr<const config::ProxyConfig> config);
  // Workers run: membership starts; a resumed migration proceeds. `ready` runs once the
  // first heartbeat view was looked at (an instance joining a running migration must not
  // serve by its file's ring before), or after member_ttl_ms if no shard answers.
  void start(Publish publish, std::function<void()> ready);
  // A validated, reconciled config from the reloader.
  void onReload(std::shared_ptr<const config::ProxyConfig> config);
  // The shards backend.auto_eject ejected now (names; empty: none). Published at once
  // unless a migration runs.
  void setEjected(std::vector<std::string> names);
  // Shutdown: stop the mover (the state file stays for the next start).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace proxy
