// ReplyScanner and splitArray: every RESP2 type, nesting, back-to-back frames, every split
// point, one byte at a time, garbage, limits, and resuming without rescanning.

#include <catch2/catch.hpp>
#include <chrono>

#include "proxy/resp/reply_scanner.h"
#include "resp_test_util.h"

using resp::ParseStatus;
using resp::ReplyScanner;

namespace {

std::string nested(int depth, const std::string& leaf) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "*1\r\n";
  return s + leaf;
}

// Valid frames; scanned back to back they must come out one by one.
std::vector<std::string> frames() {
  return {
      "+OK\r\n",
      "+\r\n",
      "-ERR unknown command 'foo'\r\n",
      "-MOVED 3999 127.0.0.1:6381\r\n",
      ":0\r\n",
      ":-1\r\n",
      ":9223372036854775807\r\n",
      ":-9223372036854775808\r\n",
      "$3\r\nfoo\r\n",
      "$0\r\n\r\n",
      "$-1\r\n",
      "*-1\r\n",
      "*0\r\n",
      resp_test::bin("$7\r\n\r\n\0*1\r\n\r\n"),  // payload holds CRLF, NUL and a header
      "*3\r\n$3\r\nfoo\r\n:42\r\n$-1\r\n",
      "*2\r\n*0\r\n*-1\r\n",
      "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+a\r\n-b\r\n",
      // depth 5, mixed types at every level
      "*2\r\n:1\r\n*2\r\n$1\r\na\r\n*2\r\n+x\r\n*2\r\n$-1\r\n*1\r\n:5\r\n",
      nested(5, "$5\r\nhello\r\n"),
      // protocol.tcl "raw protocol response" and "bulk reply protocol" replies
      "*1\r\n$1\r\na\r\n",
      ":1\r\n",
      "$1\r\n2\r\n",
      "$10\r\n2147483647\r\n",
      "$11\r\n-2147483648\r\n",
      "$20\r\n-9223372036854775809\r\n",
  };
}

std::string concat(const std::vector<std::string>& fs) {
  std::string s;
  for (const auto& f : fs) s += f;
  return s;
}

// Replays `wire` with `cuts[k]` bytes available in round k; returns the frame sizes found.
std::vector<size_t> scanAll(std::string_view wire, const std::vector<size_t>& cuts, bool& error) {
  ReplyScanner scanner;
  std::vector<size_t> sizes;
  size_t start = 0;
  error = false;
  for (size_t received : cuts) {
    while (start < received) {
      const auto r = scanner.scan(wire.substr(start, received - start));
      if (r.status == ParseStatus::Error) {
        error = true;
        return sizes;
      }
      if (r.status == ParseStatus::Incomplete) {
        if (r.consumed != 0) error = true;
        break;
      }
      sizes.push_back(r.consumed);
      start += r.consumed;
    }
  }
  return sizes;
}

std::vector<size_t> frameSizes(const std::vector<std::string>& fs) {
  std::vector<size_t> out;
  for (const auto& f : fs) out.push_back(f.size());
  return out;
}

ParseStatus scanOnce(std::string_view in, size_t maxBulk = 1024ull * 1024 * 1024,
                     size_t maxDepth = 1024) {
  ReplyScanner scanner(maxBulk, maxDepth);
  return scanner.scan(in).status;
}

}  // namespace

TEST_CASE("each RESP2 frame is found exactly", "[scanner]") {
  for (const auto& f : frames()) {
    INFO(resp_test::printable(f));
    ReplyScanner scanner;
    const auto r = scanner.scan(f + "+NEXT\r\n");
    REQUIRE(r.status == ParseStatus::Complete);
    CHECK(r.consumed == f.size());
    // Every proper prefix is incomplete.
    for (size_t k = 0; k < f.size(); ++k) {
      ReplyScanner fresh;
      const auto p = fresh.scan(std::string_view(f).substr(0, k));
      if (p.status != ParseStatus::Incomplete || p.consumed != 0) FAIL("prefix " << k);
    }
  }
}

TEST_CASE("back-to-back frames at every split point and byte by byte", "[scanner]") {
  const auto fs = frames();
  const std::string wire = concat(fs);
  const auto want = frameSizes(fs);
  bool error = false;
  CHECK(scanAll(wire, {wire.size()}, error) == want);
  CHECK_FALSE(error);
  for (size_t k = 0; k <= wire.size(); ++k) {
    const auto got = scanAll(wire, {k, wire.size()}, error);
    if (error || got != want) FAIL("split at " << k);
  }
  std::vector<size_t> bytewise(wire.size());
  for (size_t i = 0; i < wire.size(); ++i) bytewise[i] = i + 1;
  CHECK(scanAll(wire, bytewise, error) == want);
  CHECK_FALSE(error);
}

TEST_CASE("depth-1000 chain, and the depth cap", "[scanner]") {
  const std::string deep = nested(1000, ":1\r\n");
  ReplyScanner scanner;
  auto r = scanner.scan(deep);
  REQUIRE(r.status == ParseStatus::Complete);
  CHECK(r.consumed == deep.size());
  bool error = false;
  std::vector<size_t> bytewise(deep.size());
  for (size_t i = 0; i < deep.size(); ++i) bytewise[i] = i + 1;
  CHECK(scanAll(deep, bytewise, error) == std::vector<size_t>{deep.size()});
  CHECK_FALSE(error);

  CHECK(scanOnce(deep, 1024, 1000) == ParseStatus::Complete);
  CHECK(scanOnce(deep, 1024, 999) == ParseStatus::Error);
  CHECK(scanOnce(nested(5, ":1\r\n"), 1024, 5) == ParseStatus::Complete);
  CHECK(scanOnce(nested(6, ":1\r\n"), 1024, 5) == ParseStatus::Error);
  // An array that closes frees its level for its siblings.
  CHECK(scanOnce("*2\r\n*1\r\n:1\r\n*1\r\n:2\r\n", 1024, 2) == ParseStatus::Complete);
}

TEST_CASE("garbage is an Error", "[scanner]") {
  for (const char* in : {
           "?x\r\n",       "OK\r\n",       "\r\n",          "%1\r\n",
           "_\r\n",        "#t\r\n",       ",1.5\r\n",      "(1\r\n",
           ">1\r\n",       "$abc\r\n",     "$-2\r\n",       "$+1\r\nx\r\n",
           "$01\r\nx\r\n", "$ 1\r\nx\r\n", "$\r\n",         "*-2\r\n",
           "*x\r\n",       "*01\r\n",      "*1\r\n?\r\n",   "*2\r\n:1\r\nfoo\r\n",
           ":\r\n",        ":12a\r\n",     ":+1\r\n",       ":99999999999999999999\r\n",
           "$3\r\nfooXY",  "$3\r\nfoo\rX", "$2\r\nfoo\r\n", "+OK\rX",
           "$1\rX",
       }) {
    INFO(resp_test::printable(in));
    CHECK(scanOnce(in) == ParseStatus::Error);
  }
  // A length line that cannot end soon is refused without waiting for more.
  CHECK(scanOnce(std::string("$") + std::string(40, '1')) == ParseStatus::Error);
  CHECK(scanOnce(std::string("*") + std::string(40, '1')) == ParseStatus::Error);
}

TEST_CASE("bulk size cap", "[scanner]") {
  CHECK(scanOnce("$10\r\n0123456789\r\n", 10) == ParseStatus::Complete);
  CHECK(scanOnce("$11\r\n", 10) == ParseStatus::Error);
  CHECK(scanOnce(std::string("+") + std::string(10, 'x') + "\r\n", 10) == ParseStatus::Complete);
  CHECK(scanOnce(std::string("+") + std::string(11, 'x'), 10) == ParseStatus::Error);
}

TEST_CASE("the scanner is ready for the next frame after Complete, Error and reset()",
          "[scanner]") {
  ReplyScanner scanner;
  CHECK(scanner.scan("?bad\r\n").status == ParseStatus::Error);
  auto r = scanner.scan("*2\r\n:1\r\n:2\r\n");
  CHECK(r.status == ParseStatus::Complete);
  CHECK(r.consumed == 12);
  CHECK(scanner.scan("*2\r\n:1\r\n").status == ParseStatus::Incomplete);
  scanner.reset();
  r = scanner.scan("+OK\r\n");
  CHECK(r.status == ParseStatus::Complete);
  CHECK(r.consumed == 5);
}

TEST_CASE("resuming does not rescan", "[scanner]") {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();

  // 10 MB bulk in 1 MB chunks.
  const std::string big = std::string("$10485760\r\n") + std::string(10485760, 'x') + "\r\n";
  ReplyScanner scanner;
  resp::ParseResult r{ParseStatus::Incomplete, 0};
  for (size_t have = 1 << 20; r.status == ParseStatus::Incomplete && have < big.size() + (1 << 20);
       have += 1 << 20) {
    r = scanner.scan(std::string_view(big).substr(0, std::min(have, big.size())));
  }
  CHECK(r.status == ParseStatus::Complete);
  CHECK(r.consumed == big.size());

  // 1 MB bulk and a 1 MB status line, one byte at a time: rescanning would be ~5e11 steps.
  for (const std::string& frame : {std::string("$1048576\r\n") + std::string(1 << 20, 'y') + "\r\n",
                                   std::string("-ERR ") + std::string(1 << 20, 'e') + "\r\n"}) {
    ReplyScanner s;
    r = {ParseStatus::Incomplete, 0};
    size_t have = 0;
    while (r.status == ParseStatus::Incomplete && have < frame.size()) {
      r = s.scan(std::string_view(frame).substr(0, ++have));
    }
    CHECK(r.status == ParseStatus::Complete);
    CHECK(r.consumed == frame.size());
  }
  // Generous bound (sanitizer builds); a rescanning scanner takes minutes.
  CHECK(Clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("splitArray", "[scanner]") {
  std::vector<std::string_view> el{"stale"};
  const std::string frame = "*4\r\n$3\r\nfoo\r\n:1\r\n*2\r\n+a\r\n$-1\r\n-ERR x\r\n";
  REQUIRE(resp::splitArray(frame, el));
  REQUIRE(el.size() == 4);
  CHECK(el[0] == "$3\r\nfoo\r\n");
  CHECK(el[1] == ":1\r\n");
  CHECK(el[2] == "*2\r\n+a\r\n$-1\r\n");
  CHECK(el[3] == "-ERR x\r\n");
  CHECK(el[0].data() == frame.data() + 4);

  CHECK(resp::splitArray("*0\r\n", el));
  CHECK(el.empty());

  for (const char* notArray :
       {"*-1\r\n", "-ERR x\r\n", "+OK\r\n", "$3\r\nfoo\r\n", "", "*", "*2\r\n:1\r\n"}) {
    el = {"stale"};
    INFO(resp_test::printable(notArray));
    CHECK_FALSE(resp::splitArray(notArray, el));
    CHECK(el.empty());
  }
  // Element limits are the scanner's business, not splitArray's.
  const std::string deep = "*1\r\n" + nested(2000, ":1\r\n");
  REQUIRE(resp::splitArray(deep, el));
  CHECK(el.size() == 1);
}
