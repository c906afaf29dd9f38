// Tests for cache::L1Cache's coherence protocol: the fill race against invalidations, shard
// flushes and newer fills; variants; TTL with a stepped clock; value-size and shard limits.
// The byte budget and hit ratios live in cache_l1_budget_test.cpp.
#include <catch2/catch.hpp>

#include <string>

#include "proxy/cache/l1_cache.h"

using namespace std::chrono_literals;
using cache::FillToken;
using cache::L1Cache;
using cache::L1Options;
using cache::Millis;
using cache::TimePoint;

namespace {

// A clock the test steps by hand: no sleeps, no flakiness.
struct FakeClock {
  TimePoint now = TimePoint{} + 1h;
  void step(Millis d) { now += d; }
};

L1Options smallOptions() {
  L1Options options;
  options.maxBytes = 1 << 20;
  options.maxValueBytes = 1024;
  options.maxTtl = Millis(10'000);
  return options;
}

const std::string kHgetField("HGET\0field", 10);
const std::string kHgetOther("HGET\0other", 10);

// The whole miss path in one call: placeholder, "send", reply.
bool fill(L1Cache& cache, uint32_t shard, std::string_view key, std::string_view variant,
          std::string_view value, const FakeClock& clock, Millis ttl = L1Cache::kNoTtl) {
  FillToken token = cache.beginFill(shard, key, variant, clock.now);
  return cache.completeFill(token, value, ttl, clock.now);
}

std::string lookupOr(L1Cache& cache, uint32_t shard, std::string_view key,
                     std::string_view variant, const FakeClock& clock,
                     std::string_view absent = "<miss>") {
  auto hit = cache.lookup(shard, key, variant, clock.now);
  return std::string(hit ? *hit : absent);
}

}  // namespace

TEST_CASE("a filled reply is served byte for byte and counted", "[l1]") {
  L1Cache cache(smallOptions());
  FakeClock clock;
  CHECK_FALSE(cache.lookup(0, "k", "GET", clock.now));
  REQUIRE(fill(cache, 0, "k", "GET", "$3\r\nbar\r\n", clock));
  CHECK(lookupOr(cache, 0, "k", "GET", clock) == "$3\r\nbar\r\n");
  CHECK(lookupOr(cache, 0, "k", "GET", clock) == "$3\r\nbar\r\n");
  CHECK(cache.stats().hits == 2);
  CHECK(cache.stats().misses == 1);
  CHECK(cache.stats().entries == 1);
  CHECK(cache.stats().fillsStored == 1);
  CHECK(cache.stats().bytes == L1Cache::entryCost(1, 3, 9));
  CHECK(cache.checkInvariants());
}

TEST_CASE("fill race: an invalidation between beginFill and completeFill voids the fill",
          "[l1][race]") {
  // [D] GET foo → [I] invalidate foo → [D] "bar": the documented RESP2 race.
  L1Cache cache(smallOptions());
  FakeClock clock;
  FillToken token = cache.beginFill(0, "foo", "GET", clock.now);
  REQUIRE(token.valid());
  CHECK(cache.fillPending(0, "foo", "GET"));
  cache.invalidate(0, "foo");
  CHECK_FALSE(cache.fillPending(0, "foo", "GET"));
  CHECK_FALSE(cache.completeFill(token, "$3\r\nbar\r\n", L1Cache::kNoTtl, clock.now));
  CHECK_FALSE(cache.lookup(0, "foo", "GET", clock.now));
  CHECK(cache.stats().fillsStale == 1);
  CHECK(cache.stats().invalidations == 1);
  CHECK(cache.stats().entries == 0);
  CHECK(cache.stats().placeholders == 0);
  CHECK(cache.stats().bytes == 0);
  CHECK(cache.checkInvariants());
}

TEST_CASE("fill race: a write through the proxy after the fill began also voids it",
          "[l1][race]") {
  // Same path as the invalidation channel: the write calls invalidate() before it is sent.
  L1Cache cache(smallOptions());
  FakeClock clock;
  FillToken token = cache.beginFill(0, "foo", kHgetField, clock.now);
  cache.invalidate(0, "foo");  // HSET foo field x
  FillToken again = cache.beginFill(0, "foo", kHgetField, clock.now);
  CHECK_FALSE(cache.completeFill(token, "$3\r\nold\r\n", L1Cache::kNoTtl, clock.now));
  CHECK(cache.completeFill(again, "$1\r\nx\r\n", L1Cache::kNoTtl, clock.now));
  CHECK(lookupOr(cache, 0, "foo", kHgetField, clock) == "$1\r\nx\r\n");
}

TEST_CASE("fill race: flushShard voids in-flight fills of that shard only", "[l1][race]") {
  L1Cache cache(smallOptions());
  FakeClock clock;
  REQUIRE(fill(cache, 0, "kept", "GET", "+a\r\n", clock));
  REQUIRE(fill(cache, 1, "gone", "GET", "+b\r\n", clock));
  const uint64_t epoch = cache.shardEpoch(1);
  FillToken onShard1 = cache.beginFill(1, "k", "GET", clock.now);
  FillToken onShard0 = cache.beginFill(0, "k", "GET", clock.now);
  REQUIRE(onShard1.epoch == epoch);

  cache.flushShard(1);  // invalidation connection lost, or a null invalidation message

  CHECK(cache.shardEpoch(1) == epoch + 1);
  CHECK_FALSE(cache.completeFill(onShard1, "+late\r\n", L1Cache::kNoTtl, clock.now));
  CHECK_FALSE(cache.lookup(1, "k", "GET", clock.now));
  CHECK_FALSE(cache.lookup(1, "gone", "GET", clock.now));
  CHECK(cache.completeFill(onShard0, "+ok\r\n", L1Cache::kNoTtl, clock.now));
  CHECK(lookupOr(cache, 0, "kept", "GET", clock) == "+a\r\n");
  CHECK(lookupOr(cache, 0, "k", "GET", clock) == "+ok\r\n");
  CHECK(cache.stats().shardFlushes == 1);
  CHECK(cache.stats().fillsStale == 1);
  CHECK(cache.checkInvariants());
}

TEST_CASE("two fills for one variant: only the latest token stores", "[l1][race]") {
  L1Cache cache(smallOptions());
  FakeClock clock;
  FillToken first = cache.beginFill(0, "k", "GET", clock.now);
  FillToken second = cache.beginFill(0, "k", "GET", clock.now);
  REQUIRE(first.seq != second.seq);

  SECTION("replies in order") {
    CHECK_FALSE(cache.completeFill(first, "+old\r\n", L1Cache::kNoTtl, clock.now));
    CHECK(cache.completeFill(second, "+new\r\n", L1Cache::kNoTtl, clock.now));
  }
  SECTION("replies out of order (different connections)") {
    CHECK(cache.completeFill(second, "+new\r\n", L1Cache::kNoTtl, clock.now));
    CHECK_FALSE(cache.completeFill(first, "+old\r\n", L1Cache::kNoTtl, clock.now));
  }
  CHECK(lookupOr(cache, 0, "k", "GET", clock) == "+new\r\n");
  CHECK(cache.stats().fillsStale == 1);
  CHECK(cache.stats().fillsStored == 1);
  CHECK(cache.checkInvariants());
}

TEST_CASE("a token survives neither re-creation of its key nor a second completion", "[l1]") {
  L1Cache cache(smallOptions());
  FakeClock clock;
  FillToken old = cache.beginFill(0, "k", "GET", clock.now);
  cache.invalidate(0, "k");
  FillToken fresh = cache.beginFill(0, "k", "GET", clock.now);  // same key, new record
  CHECK_FALSE(cache.completeFill(old, "+stale\r\n", L1Cache::kNoTtl, clock.now));
  CHECK(cache.completeFill(fresh, "+fresh\r\n", L1Cache::kNoTtl, clock.now));
  CHECK_FALSE(cache.completeFill(fresh, "+again\r\n", L1Cache::kNoTtl, clock.now));
  CHECK(lookupOr(cache, 0, "k", "GET", clock) == "+fresh\r\n");
}

TEST_CASE("invalidate drops every variant of the key, and nothing else", "[l1]") {
  L1Cache cache(smallOptions());
  FakeClock clock;
  REQUIRE(fill(cache, 0, "h", "GET", "-WRONGTYPE\r\n", clock));
  REQUIRE(fill(cache, 0, "h", kHgetField, "$1\r\n1\r\n", clock));
  REQUIRE(fill(cache, 0, "h", kHgetOther, "$1\r\n2\r\n", clock));
  REQUIRE(fill(cache, 0, "h2", kHgetField, "$1\r\n3\r\n", clock));
  REQUIRE(fill(cache, 1, "h", kHgetField, "$1\r\n4\r\n", clock));  // same name, other shard
  FillToken inFlight = cache.beginFill(0, "h", "HLEN", clock.now);
  CHECK(cache.stats().entries == 5);
  CHECK(lookupOr(cache, 0, "h", kHgetOther, clock) == "$1\r\n2\r\n");

  cache.invalidate(0, "h");

  CHECK_FALSE(cache.lookup(0, "h", "GET", clock.now));
  CHECK_FALSE(cache.lookup(0, "h", kHgetField, clock.now));
  CHECK_FALSE(cache.lookup(0, "h", kHgetOther, clock.now));
  CHECK_FALSE(cache.completeFill(inFlight, ":2\r\n", L1Cache::kNoTtl, clock.now));
  CHECK(lookupOr(cache, 0, "h2", kHgetField, clock) == "$1\r\n3\r\n");
  CHECK(lookupOr(cache, 1, "h", kHgetField, clock) == "$1\r\n4\r\n");
  CHECK(cache.stats().entries == 2);
  CHECK(cache.stats().invalidations == 1);
  cache.invalidate(0, "h");        // nothing left: not counted
  cache.invalidate(7, "unknown");  // a shard never seen: harmless
  CHECK(cache.stats().invalidations == 1);
  CHECK(cache.checkInvariants());
}

TEST_CASE("local TTL is min(server TTL, maxTtl), counted from when the read was sent",
          "[l1][ttl]") {
  L1Cache cache(smallOptions());  // maxTtl 10 s
  FakeClock clock;

  SECTION("the server TTL is shorter") {
    FillToken token = cache.beginFill(0, "k", "GET", clock.now);
    clock.step(200ms);  // round trip: the server read PTTL somewhere in here
    REQUIRE(cache.completeFill(token, "+v\r\n", Millis(1000), clock.now));
    clock.step(799ms);  // 999 ms after the send
    CHECK(cache.lookup(0, "k", "GET", clock.now));
    clock.step(1ms);
    CHECK_FALSE(cache.lookup(0, "k", "GET", clock.now));
    CHECK(cache.stats().expirations == 1);
  }
  SECTION("no server TTL: maxTtl bounds staleness from writers that bypass tracking") {
    REQUIRE(fill(cache, 0, "k", "GET", "+v\r\n", clock));
    clock.step(9999ms);
    CHECK(cache.lookup(0, "k", "GET", clock.now));
    clock.step(1ms);
    CHECK_FALSE(cache.lookup(0, "k", "GET", clock.now));
  }
  SECTION("a reply whose TTL ran out in flight, or a non-positive TTL, is not stored") {
    FillToken token = cache.beginFill(0, "k", "GET", clock.now);
    clock.step(50ms);
    CHECK_FALSE(cache.completeFill(token, "+v\r\n", Millis(50), clock.now));
    CHECK_FALSE(fill(cache, 0, "k", "GET", "+v\r\n", clock, Millis(0)));
    CHECK_FALSE(fill(cache, 0, "k", "GET", "+v\r\n", clock, Millis(-2)));
    CHECK(cache.stats().fillsRejected == 3);
  }
  CHECK(cache.stats().entries == 0);
  CHECK(cache.stats().bytes == 0);
  CHECK(cache.checkInvariants());
}

TEST_CASE("values above maxValueBytes are never stored", "[l1][limits]") {
  L1Cache cache(smallOptions());  // maxValueBytes 1024
  FakeClock clock;
  CHECK(fill(cache, 0, "fits", "GET", std::string(1024, 'x'), clock));
  CHECK_FALSE(fill(cache, 0, "big", "GET", std::string(1025, 'x'), clock));
  CHECK_FALSE(cache.lookup(0, "big", "GET", clock.now));
  CHECK_FALSE(cache.fillPending(0, "big", "GET"));
  CHECK(cache.stats().fillsRejected == 1);
  CHECK(cache.stats().entries == 1);
  CHECK(cache.stats().bytes == L1Cache::entryCost(4, 3, 1024));
  CHECK(cache.checkInvariants());
}

TEST_CASE("a disabled shard serves nothing and refuses fills until re-enabled", "[l1]") {
  L1Cache cache(smallOptions());
  FakeClock clock;
  REQUIRE(fill(cache, 2, "k", "GET", "+v\r\n", clock));
  FillToken inFlight = cache.beginFill(2, "j", "GET", clock.now);

  cache.setShardCaching(2, false);  // tracking not (yet) re-established on shard 2

  CHECK_FALSE(cache.shardCaching(2));
  CHECK_FALSE(cache.lookup(2, "k", "GET", clock.now));
  CHECK_FALSE(cache.completeFill(inFlight, "+v\r\n", L1Cache::kNoTtl, clock.now));
  CHECK_FALSE(cache.beginFill(2, "k", "GET", clock.now).valid());
  CHECK(cache.stats().fillsRefused == 1);
  CHECK(cache.stats().bytes == 0);

  cache.setShardCaching(2, true);
  CHECK(fill(cache, 2, "k", "GET", "+v2\r\n", clock));
  CHECK(lookupOr(cache, 2, "k", "GET", clock) == "+v2\r\n");
  CHECK(cache.checkInvariants());
}

TEST_CASE("abandonFill releases the placeholder of a failed read", "[l1]") {
  L1Cache cache(smallOptions());
  FakeClock clock;
  FillToken token = cache.beginFill(0, "k", "GET", clock.now);
  CHECK(cache.stats().placeholders == 1);
  CHECK(cache.stats().bytes == L1Cache::entryCost(1, 3, 0));
  cache.abandonFill(token);
  cache.abandonFill(token);     // twice: a no-op
  cache.abandonFill(FillToken{});
  CHECK(cache.stats().placeholders == 0);
  CHECK(cache.stats().bytes == 0);
  CHECK_FALSE(cache.completeFill(token, "+v\r\n", L1Cache::kNoTtl, clock.now));
  CHECK(cache.checkInvariants());
}

TEST_CASE("beginFill on a cached variant drops the old value first", "[l1]") {
  L1Cache cache(smallOptions());
  FakeClock clock;
  REQUIRE(fill(cache, 0, "k", "GET", std::string(500, 'a'), clock));
  FillToken token = cache.beginFill(0, "k", "GET", clock.now);
  CHECK_FALSE(cache.lookup(0, "k", "GET", clock.now));
  CHECK(cache.stats().bytes == L1Cache::entryCost(1, 3, 0));
  CHECK(cache.completeFill(token, "+b\r\n", L1Cache::kNoTtl, clock.now));
  CHECK(lookupOr(cache, 0, "k", "GET", clock) == "+b\r\n");
  CHECK(cache.checkInvariants());
}
