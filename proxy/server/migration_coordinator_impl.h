// MigrationCoordinator's state, shared by its two source files:
//   migration_coordinator.cpp  plan, snapshots, background mover, cut-over, state file
//   migration_phases.cpp       membership, the phase rules across instances, INFO text
// Private to those files; main thread only (other threads post to it).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/migration/membership.h"
#include "proxy/migration/migration_state.h"
#include "proxy/migration/migrator.h"
#include "proxy/server/migration_coordinator.h"

namespace proxy {

using Clock = std::chrono::steady_clock;
using ConfigPtr = std::shared_ptr<const config::ProxyConfig>;
using RingPtr = std::shared_ptr<const routing::HashRing>;

std::string hexDigest(uint64_t v);
RingPtr buildRing(const std::vector<routing::ShardSpec>& shards, const routing::RingOptions& options);

// A union entry's weights in R0 and R1 say which configured list it came from: an added
// shard has weight 0 in R0, a removed one weight 0 in R1 (a shard at 0 in both was in both).
inline bool inOldList(uint32_t fromWeight, uint32_t toWeight) { return fromWeight > 0 || toWeight == 0; }
inline bool inNewList(uint32_t fromWeight, uint32_t toWeight) { return toWeight > 0 || fromWeight == 0; }

struct MigrationCoordinator::Impl {
  // This instance's step in a migration; every instance publishes its own (membership).
  //   Stable:    one ring.
  //   Prepared:  knows R1, still routes by R0 exactly (like an instance that did not
  //              reload yet), so it is safe beside any of them.
  //   Fenced:    requests for moving keys wait; safe beside Prepared (touches nothing
  //              that moves) and beside Migrating (reads nothing stale).
  //   Migrating: moves keys on access; the leader also runs the background mover.
  // Prepared -> Fenced when every other live member knows R1 (>= Prepared); Fenced ->
  // Migrating when every other is >= Fenced, so nobody reads an old owner once keys move.
  // Cut-over when the leader's mover finished, or another member already cut over.
  enum class Phase { Stable, Prepared, Fenced, Migrating };

  Impl(boost::asio::io_context& io, metrics::MigrationStats& s) : ioc(io), stats(s), tick(io), readyTimer(io) {}

  boost::asio::io_context& ioc;
  metrics::MigrationStats& stats;
  Publish publish;
  ConfigPtr target;  // the newest config; during a migration, the one R1 comes from
  uint64_t epoch = 1;
  std::string statePath;
  Phase phase = Phase::Stable;
  bool active = false;  // phase != Stable
  bool moverStarted = false;
  std::vector<config::ShardConfig> fromShards;  // R0's shard list, as configured then
  ConfigPtr unionConfig;
  RingPtr from, to;                   // over the union's index space
  std::string fromDigest, toDigest;   // R0 and R1 over their own lists: what members compare
  std::string stableDigest;           // the target config's ring (set by announce())
  std::unique_ptr<mig::Migrator> migrator;
  std::vector<mig::SourceCursor> resumeCursors;
  std::mutex cursorMutex;  // written by migrator threads
  std::vector<mig::SourceCursor> cursors;
  bool cursorsDirty = false;
  ConfigPtr waiting;  // a reload with another ring, applied after this migration
  boost::asio::steady_timer tick;
  int ticks = 0;
  Clock::time_point startedAt;
  mig::Migrator::Progress base;  // totals of stopped movers (all migrations)
  uint64_t movedAtStart = 0;     // base at the start of this migration, for its log line
  uint64_t conflictsAtStart = 0;
  // Membership (several instances).
  std::unique_ptr<mig::Membership> membership;
  std::string selfId;
  mig::MemberView view;
  bool viewValid = false;  // a heartbeat reached a shard: `view` lists the other instances
  bool isolated = false;
  std::string finishedFrom;           // R0's digest of the last migration this instance finished
  std::string finishedPlan;           // and its plan, for instances started with an old file
  std::function<void()> whenReady;    // Server's: start accepting clients
  bool readyPending = false;          // the barrier before whenReady is under way
  boost::asio::steady_timer readyTimer;
  Clock::time_point lastSelfWrite{};  // our record last reached a shard
  Clock::time_point lastWaitLog{};
  std::vector<std::string> ejected;   // backend.auto_eject's ejected shards (ShardProber)

  // migration_coordinator.cpp
  RoutingSnapshot stableSnapshot() const;
  void applyEjection(RoutingSnapshot& snap) const;
  RoutingSnapshot phaseSnapshot() const;
  void plan(std::vector<config::ShardConfig> oldShards);
  void rebuildUnion();
  void begin(ConfigPtr next);
  void startPlan();
  void startMover();
  void stopMover();
  void onTick();
  void publishStats(const mig::Migrator::Progress& t);
  std::string infoText(const mig::Migrator::Progress& t) const;
  void logProgress(const mig::Migrator::Progress& t);
  void saveState();
  void cutOver();
  void reload(ConfigPtr next);
  RoutingSnapshot resume(const mig::MigrationState& state, ConfigPtr cfg);
  std::vector<config::ShardConfig> shardsFromState(const std::vector<routing::ShardSpec>& specs,
                                                   const mig::MigrationState& state,
                                                   const config::ProxyConfig& cfg) const;

  // migration_phases.cpp
  void startMembership(const config::ProxyConfig& cfg);
  void announce();  // this instance's phase and shards to the membership thread
  void onView(mig::MemberView next);
  void evaluate();
  void enter(Phase next);
  int rankOf(const mig::MemberRecord& m) const;
  std::vector<const mig::MemberRecord*> others() const;
  std::string leader() const;
  void checkIsolation();
  std::string clusterInfo() const;
  size_t membersReady() const;

  // migration_join.cpp
  std::string planText() const;
  void joinRunningMigration();
  bool adoptPlan(const mig::MemberRecord& m);
  void signalReady();
};

}  // namespace proxy
