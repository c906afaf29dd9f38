// RequestParser on valid input: every request must come out identical however the bytes
// are chunked (every split point, one byte at a time, buffer moved between calls).
// Error paths and limits are in resp_protocol_errors_test.cpp.

#include <catch2/catch.hpp>

#include "proxy/resp/request_parser.h"
#include "resp_test_util.h"

using resp::ParseStatus;
using resp_test::Command;
using resp_test::Pipeline;

namespace {

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) % 256);
  return s;
}

Pipeline simpleGet() {
  Pipeline p;
  p.addMbulk({"GET", "key"});
  return p;
}

Pipeline emptyArgs() {
  Pipeline p;
  p.addMbulk({"SET", "", ""});
  p.addMbulk({""});
  return p;
}

Pipeline binaryArgs() {
  Pipeline p;
  p.addMbulk({"SET", resp_test::bin("\0\r\n\0"), "a\r\nb", "*1\r\n$3\r\nGET\r\n", "$-1\r\n"});
  p.addMbulk({"\r", "\n", std::string(1, '\0'), "\r\n\r\n"});
  return p;
}

Pipeline bigBulk() {
  Pipeline p;
  p.addMbulk({"SET", "big", pattern(100 * 1024)});
  return p;
}

Pipeline thousandArgs() {
  Command cmd{"MSET"};
  // Lengths 0..12 (one- and two-digit headers) keep the every-split test quick; one long arg.
  for (int i = 0; i < 998; ++i)
    cmd.push_back(std::string(static_cast<size_t>(i % 13), 'a' + i % 26));
  cmd.push_back(std::string(1234, 'L'));
  Pipeline p;
  p.addMbulk(cmd);
  return p;
}

Pipeline pipelined() {
  Pipeline p;
  p.addMbulk({"SET", "k", "v"});
  p.addMbulk({"GET", "k"});
  p.add("*0\r\n", {});
  p.add("*-1\r\n", {});
  p.add("PING\r\n", {"PING"}, true);
  p.add("\r\n", {}, true);
  p.add("\n", {}, true);
  p.addMbulk({"INCR", "counter"});
  p.add("ECHO hi\n", {"ECHO", "hi"}, true);
  p.addMbulk({"DEL", "k", "counter"});
  return p;
}

Pipeline inlineQuotes() {
  Pipeline p;
  p.add("SET \"k\\x41\\n\\t\" 'it\\'s' plain\r\n", {"SET", "kA\n\t", "it's", "plain"}, true);
  p.add("ECHO \"\\r\\b\\a\\\\\\\"\\q\\x4g\"\r\n", {"ECHO", "\r\b\a\\\"qx4g"}, true);
  p.add("  \t LPUSH   l\t\"a b\"  'c d'   \r\n", {"LPUSH", "l", "a b", "c d"}, true);
  p.add("ECHO a\"b c\"\r\n", {"ECHO", "ab c"}, true);
  p.add("ECHO \"\" ''\r\n", {"ECHO", "", ""}, true);
  p.add("ECHO \x0b\x0cx\x0by\r\n", {"ECHO", "x\x0by"}, true);  // \v \f skip, but do not split
  p.add("ECHO a\rb\r\n", {"ECHO", "a", "b"}, true);
  p.add("ECHO 'back\\slash'\n", {"ECHO", "back\\slash"}, true);
  p.add(" \t \r\n", {}, true);
  return p;
}

struct NamedPipeline {
  const char* name;
  Pipeline p;
};

std::vector<NamedPipeline> corpus() {
  return {{"GET", simpleGet()},
          {"empty args", emptyArgs()},
          {"binary args", binaryArgs()},
          {"100 KB bulk", bigBulk()},
          {"1000 args", thousandArgs()},
          {"pipelined", pipelined()},
          {"inline quotes", inlineQuotes()}};
}

}  // namespace

TEST_CASE("valid requests parse in one call", "[request]") {
  for (const auto& c : corpus()) {
    INFO(c.name);
    CHECK(resp_test::feed(c.p, {c.p.wire.size()}, true) == "");
  }
}

TEST_CASE("valid requests parse at every split point", "[request]") {
  for (const auto& c : corpus()) {
    INFO(c.name);
    // Copying the buffer each call is quadratic; the small inputs also prove offsets survive
    // a moved buffer, the big ones (zero-copy) prove every boundary.
    const bool copy = c.p.wire.size() < 20000;
    for (size_t k = 0; k <= c.p.wire.size(); ++k) {
      const std::string err = resp_test::feedSplitAt(c.p, k, copy);
      if (!err.empty()) FAIL("split at " << k << ": " << err);
    }
  }
}

TEST_CASE("valid requests parse one byte at a time", "[request]") {
  for (const auto& c : corpus()) {
    INFO(c.name);
    CHECK(resp_test::feedByteByByte(c.p, c.p.wire.size() < 20000) == "");
  }
}

TEST_CASE("a GET's args point into the caller's buffer", "[request]") {
  const std::string wire = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
  resp::RequestParser parser;
  const auto r = parser.parse(wire);
  REQUIRE(r.status == ParseStatus::Complete);
  REQUIRE(r.consumed == wire.size());
  REQUIRE(parser.argc() == 2);
  CHECK_FALSE(parser.isInline());
  CHECK(parser.arg(0).data() == wire.data() + 8);
  CHECK(parser.arg(1).data() == wire.data() + 17);
}

TEST_CASE("empty requests complete with argc 0 and are consumed", "[request]") {
  for (const char* in : {"*0\r\n", "*-1\r\n", "*-10\r\n", "\r\n", "\n", "   \r\n"}) {
    INFO(resp_test::printable(in));
    resp_test::OneShot s(in);
    CHECK(s.result.status == ParseStatus::Complete);
    CHECK(s.result.consumed == std::string_view(in).size());
    CHECK(s.parser.argc() == 0);
  }
}

TEST_CASE("terminators are skipped unchecked, as Redis does", "[request]") {
  // Redis steps over the 2 bytes after '\r' in headers and after bulk data without
  // looking at them (checked against redis-server 7.0.15).
  resp_test::OneShot a("*1\rX$4\rXPING\r\n");
  REQUIRE(a.result.status == ParseStatus::Complete);
  CHECK(a.result.consumed == 14);
  CHECK(a.parser.arg(0) == "PING");

  resp_test::OneShot b("*1\r\n$4\r\nPINGxx*1\r\n");
  REQUIRE(b.result.status == ParseStatus::Complete);
  CHECK(b.result.consumed == 14);
}

TEST_CASE("inline line endings follow processInlineBuffer", "[request]") {
  resp_test::OneShot crcr("PING\r\r\n");  // only one '\r' is stripped; the other is a blank
  REQUIRE(crcr.result.status == ParseStatus::Complete);
  CHECK(crcr.result.consumed == 7);
  REQUIRE(crcr.parser.argc() == 1);
  CHECK(crcr.parser.arg(0) == "PING");
  CHECK(crcr.parser.isInline());

  resp_test::OneShot partial("PING\r");
  CHECK(partial.result.status == ParseStatus::Incomplete);
}

TEST_CASE("a large bulk is not rescanned while it arrives", "[request]") {
  const std::string payload = pattern(4 * 1024 * 1024);
  const std::string wire = resp_test::mbulk({"SET", "k", payload});
  resp::RequestParser parser;
  size_t calls = 0;
  resp::ParseResult r{ParseStatus::Incomplete, 0};
  // 64-byte reads: a parser that rescanned would do ~2^37 byte steps here.
  for (size_t have = 64; r.status == ParseStatus::Incomplete; have += 64) {
    r = parser.parse(std::string_view(wire).substr(0, std::min(have, wire.size())));
    ++calls;
    if (have > wire.size() + 64) break;
  }
  REQUIRE(r.status == ParseStatus::Complete);
  CHECK(r.consumed == wire.size());
  CHECK(parser.arg(2) == payload);
  CHECK(calls > 60000);
}

TEST_CASE("the parser is reusable after Complete, Error and reset()", "[request]") {
  resp::RequestParser parser;
  REQUIRE(parser.parse("*1\r\n$4\r\nPING\r\n").status == ParseStatus::Complete);
  REQUIRE(parser.parse("*1\r\nfoo\r\n").status == ParseStatus::Error);
  auto r = parser.parse("*1\r\n$4\r\nPING\r\n");
  REQUIRE(r.status == ParseStatus::Complete);
  CHECK(parser.error() == resp::ProtoError::None);
  REQUIRE(parser.parse("*2\r\n$3\r\nGET\r\n").status == ParseStatus::Incomplete);
  parser.reset();
  r = parser.parse("ECHO x\r\n");
  REQUIRE(r.status == ParseStatus::Complete);
  REQUIRE(parser.argc() == 2);
  CHECK(parser.arg(1) == "x");
}

TEST_CASE("protocol.tcl: test large number of args", "[request][protocol.tcl]") {
  // MSET with 20002 arguments, as Redis's test sends it.
  Command cmd{"MSET"};
  for (int i = 0; i < 10000; ++i) {
    cmd.push_back("k");
    cmd.push_back("v");
  }
  cmd.push_back("{k}2");
  cmd.push_back("v2");
  Pipeline p;
  p.addMbulk(cmd);
  CHECK(resp_test::feed(p, {p.wire.size()}, false) == "");
  CHECK(resp_test::feed(p, {p.wire.size() / 3, p.wire.size()}, false) == "");
}

TEST_CASE("protocol.tcl: pipelined blocking ops and cron-released arguments",
          "[request][protocol.tcl]") {
  // "Regression for a crash with blocking ops and pipelining": two BLPOPs in one write.
  Pipeline blpop;
  blpop.addMbulk({"BLPOP", "nolist", "0"});
  blpop.addMbulk({"BLPOP", "nolist", "0"});
  CHECK(resp_test::feed(blpop, {blpop.wire.size()}, true) == "");

  // "...cron release of client arguments": "*3\r\n" first, the arguments much later.
  Pipeline set;
  set.addMbulk({"SET", "key", "0"});
  CHECK(resp_test::feed(set, {4, set.wire.size()}, true) == "");
}
