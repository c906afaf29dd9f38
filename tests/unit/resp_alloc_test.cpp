// Allocation behaviour of RequestParser: no allocation sized from a count the client merely
// declared, and none at all on the steady-state hot path. Replaces the global operator
// new/delete of the resp_tests binary to observe allocations (counting only while armed).

#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>

#include "proxy/resp/request_parser.h"
#include "resp_test_util.h"

namespace {

struct AllocStats {
  bool armed = false;
  size_t count = 0;
  size_t largest = 0;
};
AllocStats gStats;

void* countedMalloc(size_t n) {
  if (gStats.armed) {
    ++gStats.count;
    if (n > gStats.largest) gStats.largest = n;
  }
  return std::malloc(n == 0 ? 1 : n);
}

void* allocate(size_t n) {
  if (void* p = countedMalloc(n)) return p;
  throw std::bad_alloc();  // required of a replacement operator new
}

}  // namespace

// Every non-aligned form is replaced so each allocation pairs with the free() below.
void* operator new(size_t n) { return allocate(n); }
void* operator new[](size_t n) { return allocate(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return countedMalloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return countedMalloc(n); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

// Assertions run after disarming: Catch itself may allocate while recording them.
TEST_CASE("a declared count of 1M arguments allocates nothing up front", "[alloc]") {
  resp::RequestParser parser;
  std::string wire = "*1048576\r\n";
  gStats = AllocStats{true, 0, 0};
  const resp::ParseStatus header = parser.parse(wire).status;
  const AllocStats afterHeader = gStats;
  gStats.armed = false;
  CHECK(header == resp::ParseStatus::Incomplete);
  CHECK(afterHeader.count == 0);

  for (int i = 0; i < 1000; ++i) wire += "$1\r\nx\r\n";
  gStats = AllocStats{true, 0, 0};
  const resp::ParseStatus args = parser.parse(wire).status;
  const AllocStats afterArgs = gStats;
  gStats.armed = false;
  CHECK(args == resp::ParseStatus::Incomplete);
  // Slots grow geometrically with the 1000 arguments that came: a few KiB, not 8 MiB.
  CHECK(afterArgs.largest <= 1024 * sizeof(uint64_t));
}

TEST_CASE("a declared bulk length allocates nothing", "[alloc]") {
  resp::RequestParser parser;
  gStats = AllocStats{true, 0, 0};
  const resp::ParseStatus st = parser.parse("*2\r\n$3\r\nSET\r\n$536870912\r\nabc").status;
  const AllocStats stats = gStats;
  gStats.armed = false;
  CHECK(st == resp::ParseStatus::Incomplete);
  CHECK(stats.count == 0);
}

TEST_CASE("steady-state multibulk parsing does not allocate", "[alloc]") {
  resp::RequestParser parser;
  const std::string get = resp_test::mbulk({"GET", "some:key"});
  const std::string set = resp_test::mbulk({"SET", "some:key", std::string(100, 'v')});
  bool allComplete = true;
  gStats = AllocStats{true, 0, 0};
  for (int i = 0; i < 1000; ++i) {
    allComplete &= parser.parse(get).status == resp::ParseStatus::Complete;
    allComplete &= parser.parse(set).status == resp::ParseStatus::Complete;
  }
  const AllocStats stats = gStats;
  gStats.armed = false;
  CHECK(allComplete);
  CHECK(stats.count == 0);
}
