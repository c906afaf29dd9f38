// The migration token bucket (proxy/migration/rate_limiter.h) against a stepped clock: no
// sleeps, every wait computed exactly. Run by ctest as "migration: ...".
#include <catch2/catch.hpp>

#include <chrono>

#include "proxy/migration/rate_limiter.h"

namespace {

using Clock = mig::RateLimiter::Clock;
using std::chrono::milliseconds;

// A fixed origin so the test never reads the real clock.
const Clock::time_point kT0 = Clock::time_point(std::chrono::hours(1));

long long ms(Clock::duration d) { return std::chrono::ceil<milliseconds>(d).count(); }

}  // namespace

TEST_CASE("unlimited bucket never waits", "[rate]") {
  mig::RateLimiter bucket(0, 0, kT0);
  CHECK(bucket.unlimited());
  CHECK(bucket.acquire(1'000'000, kT0) == Clock::duration::zero());
  CHECK(bucket.acquire(1'000'000, kT0) == Clock::duration::zero());
}

TEST_CASE("a full bucket serves the burst at once, then the rate", "[rate]") {
  mig::RateLimiter bucket(1000, 100, kT0);  // 1000 keys/s, burst 100
  CHECK(bucket.acquire(100, kT0) == Clock::duration::zero());
  // Empty now: 50 more keys are 50 ms of refill.
  CHECK(ms(bucket.acquire(50, kT0)) == 50);
  // 50 ms later the debt is paid and nothing is left over.
  CHECK(bucket.available(kT0 + milliseconds(50)) == Approx(0.0).margin(1e-9));
  CHECK(ms(bucket.acquire(10, kT0 + milliseconds(50))) == 10);
}

TEST_CASE("an idle bucket saves no more than the burst", "[rate]") {
  mig::RateLimiter bucket(1000, 100, kT0);
  CHECK(bucket.acquire(100, kT0) == Clock::duration::zero());
  // An hour of idling refills to 100, not to 3.6 million.
  const Clock::time_point later = kT0 + std::chrono::hours(1);
  CHECK(bucket.available(later) == Approx(100.0));
  CHECK(bucket.acquire(100, later) == Clock::duration::zero());
  CHECK(ms(bucket.acquire(1, later)) == 1);
}

TEST_CASE("a batch larger than the burst goes into debt that later callers pay", "[rate]") {
  mig::RateLimiter bucket(100, 10, kT0);  // 100 keys/s, burst 10
  // 510 keys: 10 from the bucket, 500 of debt = 5 s before acting.
  CHECK(ms(bucket.acquire(510, kT0)) == 5000);
  // A second thread arriving 1 s later still owes the remaining 4 s plus its own keys.
  CHECK(ms(bucket.acquire(100, kT0 + std::chrono::seconds(1))) == 5000);
  // Long-run rate: 610 keys, the last allowed at t = 6 s -> ~100 keys/s.
  CHECK(bucket.available(kT0 + std::chrono::seconds(6)) == Approx(0.0).margin(1e-6));
}

TEST_CASE("a clock that steps backwards mints no tokens", "[rate]") {
  mig::RateLimiter bucket(1000, 100, kT0 + std::chrono::seconds(10));
  CHECK(bucket.acquire(100, kT0 + std::chrono::seconds(10)) == Clock::duration::zero());
  CHECK(bucket.available(kT0) == Approx(0.0));
  CHECK(ms(bucket.acquire(100, kT0)) == 100);
}

TEST_CASE("stepping the clock in small increments gives the configured rate", "[rate]") {
  mig::RateLimiter bucket(500, 50, kT0);
  Clock::time_point now = kT0;
  uint64_t granted = 0;
  // A caller that takes 25 keys and waits what it is told, for 10 simulated seconds.
  while (now < kT0 + std::chrono::seconds(10)) {
    now += bucket.acquire(25, now);
    granted += 25;
  }
  // 50 keys of burst + 500/s for 10 s, within one batch.
  CHECK(granted >= 5000);
  CHECK(granted <= 5050 + 25);
}
