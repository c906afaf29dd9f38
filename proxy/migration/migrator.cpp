// Migrator (proxy/migration/migrator.h): the threads' lifecycle, the start gate, the
// shared rate limit, serialized hooks and progress. The work of each thread is in
// source_worker.cpp.
// Called by: the proxy's migration control and the tests/unit/migration_*_test.cpp.
#include "proxy/migration/migrator.h"

#include <algorithm>
#include <utility>

#include "proxy/migration/source_worker.h"

namespace mig {

Migrator::Migrator(MigrationPlan plan, Hooks hooks)
    : plan_(std::move(plan)),
      hooks_(std::move(hooks)),
      // Burst: one batch may leave at once after a pause, but never more than a second's
      // worth, so a small limit is not overrun by the first batches of every thread.
      limiter_(plan_.maxKeysPerSecond, std::min(plan_.batchKeys, plan_.maxKeysPerSecond),
               RateLimiter::Clock::now()) {
  for (size_t i = 0; i < plan_.shards.size(); ++i) {
    auto counters = std::make_unique<Counters>();
    if (i < plan_.start.size()) {
      counters->cursor = plan_.start[i].cursor;
      counters->pass = std::max<uint32_t>(1, plan_.start[i].pass);
    }
    counters_.push_back(std::move(counters));
  }
}

Migrator::~Migrator() { stop(); }

std::string Migrator::validatePlan() const {
  if (!plan_.from || !plan_.to) return "both rings are required";
  const size_t n = plan_.shards.size();
  if (n == 0) return "no shards";
  if (plan_.from->shards().size() != n || plan_.to->shards().size() != n) {
    return "the rings and the endpoints must list the same shards";
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = plan_.shards[i].name;
    if (plan_.from->shards()[i].name != name || plan_.to->shards()[i].name != name) {
      return "shard " + std::to_string(i) + " is named differently in the rings and endpoints";
    }
  }
  if (!plan_.start.empty() && plan_.start.size() != n) return "start must have one cursor a shard";
  if (plan_.batchKeys == 0) return "batchKeys must be > 0";
  return "";
}

void Migrator::start() {
  std::lock_guard<std::mutex> lifecycle(lifecycleMutex_);
  if (started_ || stopping()) return;
  started_ = true;
  const std::string problem = validatePlan();
  if (!problem.empty()) {
    threads_.emplace_back([this, problem] {
      emitLog(2, "migration: plan rejected: " + problem);
      callHook(hooks_.finished, false);
    });
    return;
  }
  remaining_ = plan_.shards.size();
  for (size_t i = 0; i < plan_.shards.size(); ++i) {
    threads_.emplace_back([this, i] { runSource(i); });
  }
}

void Migrator::stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycleMutex_);
  {
    std::lock_guard<std::mutex> lock(wakeMutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
}

void Migrator::runSource(size_t shard) noexcept {
  // Nothing may escape a std::thread (std::terminate). Only allocation can throw here; the
  // worker is rebuilt from the last saved cursor, so a retry loses no progress (it may
  // count a conflict it had already reported once more).
  while (!stopping()) {
    try {
      SourceWorker(*this, shard).run();
      return;
    } catch (const std::exception& e) {
      emitLog(2, "migration: source " + plan_.shards[shard].name + ": " + e.what());
    } catch (...) {
      emitLog(2, "migration: source " + plan_.shards[shard].name + ": unknown exception");
    }
    ++counters_[shard]->errors;
    sleepFor(kBackoffMax);
  }
}

void Migrator::arriveAtStart() {
  {
    std::lock_guard<std::mutex> lock(wakeMutex_);
    ++arrived_;
  }
  wake_.notify_all();
}

void Migrator::waitForStart() {
  std::unique_lock<std::mutex> lock(wakeMutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(plan_.ioTimeoutMs),
                 [this] { return stopping() || arrived_ >= plan_.shards.size(); });
}

bool Migrator::sleepFor(std::chrono::nanoseconds d) {
  std::unique_lock<std::mutex> lock(wakeMutex_);
  return !wake_.wait_for(lock, d, [this] { return stopping(); });
}

bool Migrator::throttle(uint64_t keys) {
  if (plan_.maxKeysPerSecond == 0) return !stopping();
  RateLimiter::Clock::duration wait;
  {
    std::lock_guard<std::mutex> lock(limiterMutex_);
    wait = limiter_.acquire(keys, RateLimiter::Clock::now());
  }
  if (wait <= RateLimiter::Clock::duration::zero()) return !stopping();
  return sleepFor(wait);
}

// Hooks are user code on our threads: serialized, and never allowed to throw through.
template <typename Hook, typename... Args>
void Migrator::callHook(const Hook& hook, Args&&... args) {
  if (!hook) return;
  std::lock_guard<std::mutex> lock(hookMutex_);
  try {
    hook(std::forward<Args>(args)...);
  } catch (...) {
  }
}

void Migrator::emitLog(int level, const std::string& line) { callHook(hooks_.log, level, line); }

void Migrator::emitCursor(size_t shard, SourceCursor cursor) {
  callHook(hooks_.cursorSaved, shard, cursor);
}

void Migrator::sourceDone() {
  if (remaining_.fetch_sub(1) != 1) return;
  finished_ = true;
  const Progress t = totals();
  emitLog(0, "migration: finished; moved " + std::to_string(t.moved) + " keys, " +
                 std::to_string(t.conflicts) + " conflicts, " + std::to_string(t.errors) +
                 " retried errors");
  // A stop() that raced with the last batch wins: the caller asked not to be called.
  if (!stopping()) callHook(hooks_.finished, true);
}

Migrator::Progress Migrator::progress(size_t shard) const {
  Progress p;
  if (shard >= counters_.size()) return p;
  const Counters& c = *counters_[shard];
  p.scanned = c.scanned;
  p.moved = c.moved;
  p.conflicts = c.conflicts;
  p.errors = c.errors;
  p.cursor = c.cursor;
  p.pass = c.pass;
  p.done = c.done;
  p.sourceKeysAtStart = c.keysAtStart;
  return p;
}

Migrator::Progress Migrator::totals() const {
  Progress t;
  t.done = !counters_.empty();
  t.pass = counters_.empty() ? 0 : UINT32_MAX;
  for (size_t i = 0; i < counters_.size(); ++i) {
    const Progress p = progress(i);
    t.scanned += p.scanned;
    t.moved += p.moved;
    t.conflicts += p.conflicts;
    t.errors += p.errors;
    t.sourceKeysAtStart += p.sourceKeysAtStart;
    t.pass = std::min(t.pass, p.pass);
    t.done = t.done && p.done;
  }
  return t;
}

}  // namespace mig
