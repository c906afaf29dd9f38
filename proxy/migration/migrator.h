// Migrator: the background mover of a live rebalancing (design.md §7.3).
// Owns: one std::thread per shard of the plan, each with its own blocking hiredis
// connections (the source, and the targets it needs to compare values with); the
// per-shard progress counters; the shared keys-per-second bucket.
// Called by: the proxy's migration control (start/stop/progress from the control side,
// progress() from the metrics and admin views on any thread) and the migration tests.
// The data path moves a key on access by itself; this class walks every source with SCAN
// so the keys nobody touches move too, then reports finished(true) so R1 can be published.
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

#include "proxy/migration/rate_limiter.h"
#include "routing/hash_ring.h"

namespace mig {

struct ShardEndpoint {
  std::string name;  // must equal the ring's shard name at the same index
  std::string host;  // as the *source servers* reach it too: MIGRATE connects from there
  uint16_t port = 0;
  std::string username;  // empty = AUTH <password> (or no AUTH when password is empty)
  std::string password;
};

// Where a source's SCAN stands: keys behind `cursor` in pass `pass` were handled.
struct SourceCursor {
  uint64_t cursor = 0;
  uint32_t pass = 1;
};

struct MigrationPlan {
  std::shared_ptr<const routing::HashRing> from, to;
  std::vector<ShardEndpoint> shards;            // index space of the rings
  std::vector<SourceCursor> start;              // per shard; empty = all from {0, 1}
  uint32_t batchKeys = 500;                     // SCAN COUNT and keys per MIGRATE ... KEYS
  uint32_t maxKeysPerSecond = 0;                // 0 = unlimited (whole migrator, shared)
  uint32_t migrateTimeoutMs = 5000;             // MIGRATE's own timeout argument
  uint32_t ioTimeoutMs = 10000;                 // hiredis connect and command timeout
  std::string reservedPrefix = "__ringproxy:";  // never moved (proxy-internal keys)
};

// Every hook is optional. They run on migrator threads, one at a time (the migrator
// serializes them), and must neither call stop() nor destroy the Migrator: post that to
// another thread. An exception thrown by a hook is caught and ignored.
struct Hooks {
  // After each batch is fully handled, for the state file (resume point of that shard).
  std::function<void(size_t shard, SourceCursor)> cursorSaved;
  // At most once: true when every source is done (never after stop() was requested);
  // false only when the plan is invalid.
  std::function<void(bool ok)> finished;
  // 0 info, 1 warn, 2 error; one line, no trailing newline.
  std::function<void(int level, std::string line)> log;
};

// Each thread SCANs its shard and sends every key k with to->ownerOf(k) != that shard to
// its new owner (reserved-prefix keys never move; `from` only validates the plan). A
// source is done after one whole pass that moved nothing and failed nothing. A key found
// on both sides with different values is a conflict: logged and counted once, both copies
// left alone, and it does not hold the migration back. Any failure (IOERR, timeout,
// refused AUTH, lost connection) is counted, backed off (100 ms doubling to 5 s,
// interrupted by stop()) and the same batch redone: a batch is never skipped.
class Migrator {
 public:
  Migrator(MigrationPlan plan, Hooks hooks);
  ~Migrator();  // stop()
  Migrator(const Migrator&) = delete;
  Migrator& operator=(const Migrator&) = delete;

  // Starts the threads (once; later calls, and calls after stop(), do nothing). Returns
  // at once: all I/O happens on the threads. Throws std::system_error only if the OS
  // refuses a thread (those already started are joined by stop() or the destructor).
  void start();
  // Asks every thread to exit and joins them. A thread in a blocking command finishes
  // that command first (bounded by ioTimeoutMs). finished is not called. Idempotent.
  void stop();

  struct Progress {
    uint64_t scanned = 0;    // keys returned by SCAN (a redone batch is not counted twice)
    uint64_t moved = 0;      // keys taken off the source (exact; see migrateGroup)
    uint64_t conflicts = 0;  // keys on source and target with different values
    uint64_t errors = 0;     // failed attempts (each one retried)
    uint64_t cursor = 0;     // totals(): 0
    uint32_t pass = 0;       // totals(): the lowest pass of any shard
    bool done = false;       // totals(): every shard done
    uint64_t sourceKeysAtStart = 0;  // DBSIZE before any key moved (for an ETA)
  };
  Progress progress(size_t shard) const;  // any thread
  Progress totals() const;                // any thread
  bool finished() const { return finished_.load(); }

 private:
  friend class SourceWorker;  // source_worker.h: the loop of one source thread
  struct Counters;            // source_worker.h: per-shard atomics behind Progress

  std::string validatePlan() const;
  void runSource(size_t shard) noexcept;
  // The start gate: every source reads its DBSIZE before any thread moves a key, so no
  // sourceKeysAtStart includes keys another source already moved in. Bounded by
  // ioTimeoutMs and by stop().
  void arriveAtStart();
  void waitForStart();
  // Sleeps up to `d`; false as soon as stop() is requested.
  bool sleepFor(std::chrono::nanoseconds d);
  // Waits for `keys` tokens of the shared bucket; false when stopping.
  bool throttle(uint64_t keys);
  bool stopping() const { return stopping_.load(); }
  template <typename Hook, typename... Args>
  void callHook(const Hook& hook, Args&&... args);
  void emitLog(int level, const std::string& line);
  void emitCursor(size_t shard, SourceCursor cursor);
  void sourceDone();

  MigrationPlan plan_;
  Hooks hooks_;
  std::vector<std::unique_ptr<Counters>> counters_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  std::atomic<size_t> remaining_{0};
  bool started_ = false;
  std::mutex lifecycleMutex_;  // start() vs stop() from different control threads
  std::mutex wakeMutex_;  // guards arrived_; with wake_, makes every wait stop()-aware
  std::condition_variable wake_;
  size_t arrived_ = 0;
  std::mutex limiterMutex_;
  RateLimiter limiter_;
  std::mutex hookMutex_;
};

}  // namespace mig
