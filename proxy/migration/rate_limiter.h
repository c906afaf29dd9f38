// RateLimiter: the token bucket behind MigrationPlan::maxKeysPerSecond.
// Owns: a token count and the time it was last refilled. Pure: the caller passes "now", so
// the unit test steps a fake clock and the Migrator passes steady_clock::now(). Not
// thread-safe by itself: the Migrator shares one bucket between its source threads under
// its own mutex, so the limit holds for the whole migration, not per shard.
// Called by: Migrator (proxy/migration/migrator.cpp), tests/unit/migration_rate_test.cpp.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace mig {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // ratePerSecond 0 = unlimited. `burst` caps what an idle bucket saves up; the bucket
  // starts full so the first batch is not delayed.
  RateLimiter(uint32_t ratePerSecond, uint32_t burst, Clock::time_point now)
      : rate_(ratePerSecond),
        burst_(std::max<double>(1.0, burst)),
        tokens_(burst_),
        last_(now) {}

  // Spends `n` tokens at `now` and returns how long the caller must wait before acting.
  // The balance may go negative: a batch larger than the burst is still allowed (it
  // cannot be split without more MIGRATE round trips), and the debt makes the callers
  // that follow wait, so the long-run rate holds even with several threads sharing it.
  Clock::duration acquire(uint64_t n, Clock::time_point now) {
    if (rate_ == 0) return Clock::duration::zero();
    refill(now);
    tokens_ -= static_cast<double>(n);
    if (tokens_ >= 0) return Clock::duration::zero();
    const std::chrono::duration<double> wait(-tokens_ / rate_);
    return std::chrono::ceil<Clock::duration>(wait);
  }

  // Tokens available at `now` (negative while in debt); for tests and diagnostics.
  double available(Clock::time_point now) {
    refill(now);
    return tokens_;
  }

  bool unlimited() const { return rate_ == 0; }

 private:
  void refill(Clock::time_point now) {
    // A clock that goes backwards (or two threads racing on "now") must not mint tokens.
    if (now <= last_) return;
    const std::chrono::duration<double> elapsed = now - last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    last_ = now;
  }

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace mig
