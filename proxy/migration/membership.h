// Membership: how several ringproxy instances in front of the same shards see each other
// (issue: "several proxies, one ring"). The shards are the shared place: every instance
// heartbeats a record into a reserved database (`cluster.db`, never the clients' db 0, so
// SCAN/KEYS/DBSIZE and the migrator never see it) on every shard it routes to:
//   __ringproxy:member:<id>  hash {phase, from, to, address, plan, seq}, PEXPIRE member_ttl_ms
//   __ringproxy:members      set of ids (an id whose hash expired is removed by readers)
// and reads everybody's records back in the same round trip. A record that expired is a
// member that stopped counting (killed, partitioned away).
// Owns: one thread with one blocking hiredis link per shard.
// Called by: proxy::MigrationCoordinator (setSelf/setShards from the main thread; the view
// is handed to its callback on the membership thread, which posts it on).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/migration/migrator.h"

namespace mig {

struct MemberRecord {
  std::string id;
  std::string phase;    // stable | prepared | fenced | migrating | cutover
  std::string from;     // ring digest being left (empty when stable)
  std::string to;       // ring digest routed to / being built
  std::string address;  // the instance's listen address, for operators
  std::string plan;     // during a migration: both shard lists (see MigrationCoordinator),
                        // so an instance that starts meanwhile can join it
  uint64_t seq = 0;     // bumps on every change of the instance's own record
};

struct MemberView {
  std::vector<MemberRecord> members;  // live records, this instance's included, by id
  // When this instance's own record last reached at least one shard (steady clock).
  std::chrono::steady_clock::time_point lastSelfWrite{};
  size_t shardsReached = 0;
};

struct MembershipOptions {
  std::string id;
  std::string address;
  uint32_t db = 15;
  uint32_t heartbeatMs = 500;
  uint32_t ttlMs = 3000;
};

class Membership {
 public:
  using OnView = std::function<void(MemberView)>;
  using Log = std::function<void(int level, std::string line)>;  // 0 info, 1 warn, 2 error

  Membership(MembershipOptions options, OnView onView, Log log);
  ~Membership();  // stop()
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  void start();
  // Stops the thread and deletes this instance's record (best effort): the others stop
  // waiting for it at once instead of after its expiry.
  void stop();
  // Any thread. The shards to heartbeat on (the union of the rings this instance uses).
  void setShards(std::vector<ShardEndpoint> shards);
  // Any thread. The next heartbeat (started at once) carries the new phase.
  void setSelf(std::string phase, std::string from, std::string to, std::string plan = {});
  const MembershipOptions& options() const { return options_; }

 private:
  struct Link;
  void run();
  void beat(std::vector<std::unique_ptr<Link>>& links);
  bool beatOne(Link& link, const MemberRecord& self, std::vector<MemberRecord>& out);
  void removeSelf(std::vector<std::unique_ptr<Link>>& links);

  MembershipOptions options_;
  OnView onView_;
  Log log_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  bool shardsChanged_ = false;
  std::vector<ShardEndpoint> shards_;
  MemberRecord self_;
  std::thread thread_;
};

}  // namespace mig
