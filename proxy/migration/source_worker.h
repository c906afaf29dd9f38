// SourceWorker: the loop of one Migrator source thread (SCAN, MIGRATE ... KEYS, BUSYKEY
// settling, passes, backoff), and the per-shard counters it shares with Migrator.
// Owns: its ShardLinks (the source, and each target it had to DUMP from), the set of
// conflicts already reported, and where its SCAN stands. Internal to proxy/migration.
// Called by: Migrator::runSource (proxy/migration/migrator.cpp), one worker a thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "proxy/migration/migrator.h"
#include "proxy/migration/shard_link.h"

namespace mig {

// Failed attempts wait 100 ms, doubling up to 5 s; one success resets it.
constexpr std::chrono::milliseconds kBackoffFirst{100};
constexpr std::chrono::milliseconds kBackoffMax{5000};

class Backoff {
 public:
  std::chrono::milliseconds next() {
    current_ = current_.count() == 0 ? kBackoffFirst : std::min(current_ * 2, kBackoffMax);
    return current_;
  }
  void reset() { current_ = std::chrono::milliseconds(0); }

 private:
  std::chrono::milliseconds current_{0};
};

// Written by the shard's worker, read by progress() on any thread.
struct Migrator::Counters {
  std::atomic<uint64_t> scanned{0}, moved{0}, conflicts{0}, errors{0}, cursor{0}, keysAtStart{0};
  std::atomic<uint32_t> pass{1};
  std::atomic<bool> done{false};
};

// The loop of one source thread. Lives only on that thread; all shared state goes through
// the owner (atomics, the bucket, the serialized hooks).
class SourceWorker {
 public:
  SourceWorker(Migrator& owner, size_t shard)
      : owner_(owner),
        plan_(owner.plan_),
        counters_(*owner.counters_[shard]),
        shard_(shard),
        targets_(owner.plan_.shards.size()),
        cursor_(counters_.cursor.load()),
        pass_(counters_.pass.load()),
        // Resuming mid-pass: the part before the cursor was not seen by this run, so this
        // pass cannot prove the source clean; a full pass must follow.
        passDirty_(cursor_ != 0) {}

  void run();

 private:
  bool connectSource();
  bool readKeysAtStart();
  bool ensureLink(ShardLink& link, size_t shard);
  bool scan(uint64_t* next, std::vector<std::string>* keys);
  bool moveBatch(const std::vector<std::string>& keys);
  bool migrateGroup(uint32_t target, const std::vector<std::string>& keys);
  bool resolveBusy(uint32_t target, const std::vector<std::string>& keys, uint64_t existed);
  bool settlePresent(uint32_t target, const std::vector<std::string>& present);
  bool deleteIfUnchanged(const std::vector<std::string>& keys,
                         const std::vector<ReplyPtr>& dumps, const std::vector<size_t>& same,
                         bool* unresolved);
  void reportConflict(uint32_t target, const std::string& key);
  bool finishBatch(uint64_t next);
  void fail(const std::string& what);
  void addMoved(uint64_t n);
  Argv migrateArgv(uint32_t target, const std::vector<std::string>& keys) const;
  const std::string& name(size_t shard) const { return plan_.shards[shard].name; }

  Migrator& owner_;
  const MigrationPlan& plan_;
  Migrator::Counters& counters_;
  size_t shard_;
  ShardLink source_;
  std::vector<ShardLink> targets_;  // by shard; connected only when BUSYKEY needs a DUMP
  Backoff backoff_;
  std::unordered_set<std::string> reported_;  // conflicts are counted and logged once
  uint64_t cursor_;
  uint32_t pass_;
  bool passDirty_;
  uint64_t passMoved_ = 0;
  bool haveKeysAtStart_ = false;
  bool arrived_ = false;  // at the start gate (see Migrator::waitForStart)
};

}  // namespace mig
