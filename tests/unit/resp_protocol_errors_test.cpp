// RequestParser error paths: every case of Redis 7.0's tests/unit/protocol.tcl with Redis's
// exact error text, string2ll corner cases, the 64 KiB line limits, and the Limits caps.
// Expected outcomes that are not in protocol.tcl were checked against redis-server 7.0.15.

#include <catch2/catch.hpp>

#include "proxy/resp/request_parser.h"
#include "resp_test_util.h"

using resp::ParseStatus;
using resp::ProtoError;
using resp_test::OneShot;

namespace {

// Parses `input` in one call and also byte by byte: errors must not depend on chunking
// unless Redis's own outcome does.
void expectError(std::string_view input, ProtoError e, const std::string& text,
                 bool authenticated = true, resp::Limits limits = {}) {
  INFO("input: " << resp_test::printable(input));
  OneShot s(input, limits, authenticated);
  REQUIRE(s.result.status == ParseStatus::Error);
  CHECK(s.result.consumed == 0);
  CHECK(s.parser.error() == e);
  CHECK(s.parser.errorText() == text);
  CHECK(s.parser.argc() == 0);

  resp::RequestParser bytewise(limits);
  bytewise.setAuthenticated(authenticated);
  resp::ParseResult r{ParseStatus::Incomplete, 0};
  size_t k = 1;
  for (; k <= input.size() && r.status == ParseStatus::Incomplete; ++k)
    r = bytewise.parse(input.substr(0, k));
  CHECK(r.status == ParseStatus::Error);
  CHECK(bytewise.errorText() == text);
}

void expectIncomplete(std::string_view input, bool authenticated = true, resp::Limits limits = {}) {
  INFO("input: " << resp_test::printable(input));
  OneShot s(input, limits, authenticated);
  CHECK(s.result.status == ParseStatus::Incomplete);
  CHECK(s.result.consumed == 0);
}

std::string repeatTo(std::string head, std::string_view unit, size_t total) {
  while (head.size() < total) head += unit;
  head.resize(total);
  return head;
}

const std::string kInvalidMbulk = "Protocol error: invalid multibulk length";
const std::string kInvalidBulk = "Protocol error: invalid bulk length";
const std::string kTooBigInline = "Protocol error: too big inline request";
const std::string kTooBigMbulk = "Protocol error: too big mbulk count string";
const std::string kTooBigBulk = "Protocol error: too big bulk count string";

}  // namespace

TEST_CASE("protocol.tcl: Handle an empty query", "[errors][protocol.tcl]") {
  resp::RequestParser parser;
  auto r = parser.parse("\r\nPING\r\n");
  REQUIRE(r.status == ParseStatus::Complete);
  CHECK(r.consumed == 2);
  CHECK(parser.argc() == 0);
  r = parser.parse("PING\r\n");
  REQUIRE(r.status == ParseStatus::Complete);
  CHECK(parser.arg(0) == "PING");
}

TEST_CASE("protocol.tcl: Negative multibulk length", "[errors][protocol.tcl]") {
  OneShot s("*-10\r\n*1\r\n$4\r\nPING\r\n");
  REQUIRE(s.result.status == ParseStatus::Complete);
  CHECK(s.result.consumed == 6);
  CHECK(s.parser.argc() == 0);
}

TEST_CASE("protocol.tcl: Out of range multibulk length", "[errors][protocol.tcl]") {
  expectError("*3000000000\r\n", ProtoError::InvalidMultibulkLength, kInvalidMbulk);
  // Older protocol.tcl sent *20000000: above our 1M maxArgs cap, so refused the same way.
  expectError("*20000000\r\n", ProtoError::InvalidMultibulkLength, kInvalidMbulk);
}

TEST_CASE("protocol.tcl: Wrong multibulk payload header", "[errors][protocol.tcl]") {
  expectError("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", ProtoError::ExpectedDollar,
              "Protocol error: expected '$', got 'f'");
}

TEST_CASE("protocol.tcl: Negative/out of range/non-number multibulk payload length",
          "[errors][protocol.tcl]") {
  expectError("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", ProtoError::InvalidBulkLength,
              kInvalidBulk);
  expectError("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", ProtoError::InvalidBulkLength,
              kInvalidBulk);
  expectError("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", ProtoError::InvalidBulkLength,
              kInvalidBulk);
}

TEST_CASE("protocol.tcl: Multi bulk request not followed by bulk arguments",
          "[errors][protocol.tcl]") {
  expectError("*1\r\nfoo\r\n", ProtoError::ExpectedDollar, "Protocol error: expected '$', got 'f'");
  // Like Redis, the '$' is only judged once the whole line is in.
  expectIncomplete("*1\r\nfoo");
  expectIncomplete("*1\r\nfoo\r");
}

TEST_CASE("protocol.tcl: Unbalanced number of quotes", "[errors][protocol.tcl]") {
  expectError("set \"\"\"test-key\"\"\" test-value\r\nping\r\n", ProtoError::UnbalancedQuotes,
              "Protocol error: unbalanced quotes in request");
  for (const char* in : {"ECHO \"abc\r\n", "ECHO 'abc\r\n", "ECHO \"a\"b\r\n", "ECHO 'a'b\r\n",
                         "ECHO a\"b c\"d\r\n", "ECHO \"abc\\\"\r\n", "ECHO \"abc\\\r\n"}) {
    expectError(in, ProtoError::UnbalancedQuotes, "Protocol error: unbalanced quotes in request");
  }
}

TEST_CASE("protocol.tcl: Protocol desync regression tests", "[errors][protocol.tcl]") {
  // Redis's test writes one of these, then bytes with no newline until it is disconnected.
  // (The Tcl writes the literal word "payload"; the intended "A...A\n" is covered too:
  // Redis's strchr stops at the NUL, so that newline never counts.)
  const std::pair<std::string, std::string> cases[] = {
      {resp_test::bin("\x00"), kTooBigInline},
      {resp_test::bin("*\x00"), kTooBigMbulk},
      {resp_test::bin("$\x00"), kTooBigInline},  // not '*', so an inline request
  };
  for (const auto& [seq, text] : cases) {
    for (const std::string& unit : {std::string("payload"), std::string(1024, 'A') + "\n"}) {
      const std::string atLimit = repeatTo(seq, unit, 64 * 1024);
      expectIncomplete(atLimit);
      const std::string over = repeatTo(seq, unit, 64 * 1024 + 1);
      INFO("seq " << resp_test::printable(seq) << " unit " << unit.size());
      OneShot s(over);
      REQUIRE(s.result.status == ParseStatus::Error);
      CHECK(s.parser.errorText() == text);
    }
  }
}

// Not ported: "Generic wrong number of args" (command arity is the proxy's command table,
// not the codec), raw/RESP3 response tests (server replies: see resp_reply_scanner_test),
// "argument rewriting" (server-side INCRBYFLOAT).

TEST_CASE("multibulk counts follow string2ll", "[errors]") {
  for (const char* in : {"*+1\r\n", "*01\r\n", "*-0\r\n", "*1 \r\n", "* 1\r\n", "*\r\n", "*-\r\n",
                         "*1x\r\n", "*99999999999999999999\r\n", "*2147483648\r\n"}) {
    expectError(in, ProtoError::InvalidMultibulkLength, kInvalidMbulk);
  }
  resp::Limits noCap;
  noCap.maxArgs = SIZE_MAX;
  expectIncomplete("*2147483647\r\n", true, noCap);  // INT_MAX is Redis's own cap
  expectError("*2147483648\r\n", ProtoError::InvalidMultibulkLength, kInvalidMbulk, true, noCap);
}

TEST_CASE("bulk lengths follow string2ll", "[errors]") {
  for (const char* in :
       {"*1\r\n$+4\r\nPING\r\n", "*1\r\n$04\r\nPING\r\n", "*1\r\n$-0\r\n", "*1\r\n$\r\n",
        "*1\r\n$4 \r\n", "*1\r\n$-1\r\n", "*1\r\n$9223372036854775808\r\n"}) {
    expectError(in, ProtoError::InvalidBulkLength, kInvalidBulk);
  }
}

TEST_CASE("expected '$' reports the byte like Redis's addReplyErrorFormat", "[errors]") {
  expectError("*1\r\n\r\n\r\n", ProtoError::ExpectedDollar,
              "Protocol error: expected '$', got ' '");
  expectError("*1\r\n\n\r\n", ProtoError::ExpectedDollar, "Protocol error: expected '$', got ' '");
  expectError("*2\r\n$3\r\nGET\r\n:1\r\n", ProtoError::ExpectedDollar,
              "Protocol error: expected '$', got ':'");
}

TEST_CASE("a NUL hides a line from Redis, which keeps waiting", "[errors]") {
  // Redis finds line ends with strchr; verified against redis-server 7.0.15.
  expectIncomplete(
      resp_test::bin("PING a\x00"
                     "b\r\n"));
  expectIncomplete(resp_test::bin("*\x00\r\n"));
  expectIncomplete(resp_test::bin("*1\r\n$4\x00\r\nPING\r\n"));
  expectIncomplete(resp_test::bin("*1\r\n\x00\r\n"));
  // ...until more than 64 KiB are buffered past the line start.
  const std::string hiddenCount = repeatTo(resp_test::bin("*1\x00\r\n"), "x", 64 * 1024 + 1);
  expectError(hiddenCount, ProtoError::TooBigMbulkCount, kTooBigMbulk);
  const std::string hiddenBulk =
      repeatTo(resp_test::bin("*1\r\n$4\x00\r\n"), "A\r\n", 64 * 1024 + 5);
  expectError(hiddenBulk, ProtoError::TooBigBulkCount, kTooBigBulk);
  // A '\r' as last byte is visible to Redis only if no NUL precedes it.
  std::string hiddenCr = repeatTo(resp_test::bin("*\x00"), "x", 64 * 1024 + 10) + "\r";
  expectError(hiddenCr, ProtoError::TooBigMbulkCount, kTooBigMbulk);
  expectIncomplete(repeatTo("*", "1", 64 * 1024 + 10) + "\r");
}

TEST_CASE("header and inline lines are limited to 64 KiB", "[errors][limits]") {
  expectIncomplete(std::string(64 * 1024, 'A'));
  expectError(std::string(64 * 1024 + 1, 'A'), ProtoError::TooBigInline, kTooBigInline);
  expectIncomplete(repeatTo("*", "1", 64 * 1024));
  expectError(repeatTo("*", "1", 64 * 1024 + 1), ProtoError::TooBigMbulkCount, kTooBigMbulk);
  // Counted from the start of the current header, not of the request.
  expectIncomplete(repeatTo("*1\r\n$", "1", 4 + 64 * 1024));
  expectError(repeatTo("*1\r\n$", "1", 4 + 64 * 1024 + 1), ProtoError::TooBigBulkCount,
              kTooBigBulk);
  // With the terminator in the buffer, a longer line is judged on its content instead.
  OneShot longInline(std::string(100 * 1024, 'A') + "\r\n");
  REQUIRE(longInline.result.status == ParseStatus::Complete);
  CHECK(longInline.parser.arg(0).size() == 100 * 1024);
  // (Delivered in small reads, the same bytes hit the 64 KiB limit first, as in Redis.)
  OneShot longCount(repeatTo("*", "1", 70000) + "\r\n");
  REQUIRE(longCount.result.status == ParseStatus::Error);
  CHECK(longCount.parser.errorText() == kInvalidMbulk);
}

TEST_CASE("Limits: maxArgs and maxBulkBytes", "[errors][limits]") {
  expectIncomplete("*1048576\r\n");
  expectError("*1048577\r\n", ProtoError::InvalidMultibulkLength, kInvalidMbulk);
  expectIncomplete("*1\r\n$536870912\r\n");
  expectError("*1\r\n$536870913\r\n", ProtoError::InvalidBulkLength, kInvalidBulk);

  resp::Limits small;
  small.maxArgs = 3;
  small.maxBulkBytes = 5;
  OneShot ok(resp_test::mbulk({"SET", "k", "12345"}), small);
  CHECK(ok.result.status == ParseStatus::Complete);
  expectError("*4\r\n", ProtoError::InvalidMultibulkLength, kInvalidMbulk, true, small);
  expectError("*1\r\n$6\r\n", ProtoError::InvalidBulkLength, kInvalidBulk, true, small);
}

TEST_CASE("Limits: unauthenticated clients get Redis's tighter caps", "[errors][limits]") {
  const std::string unauthMbulk = "Protocol error: unauthenticated multibulk length";
  const std::string unauthBulk = "Protocol error: unauthenticated bulk length";
  OneShot ten(resp_test::mbulk({"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}), {}, false);
  CHECK(ten.result.status == ParseStatus::Complete);
  expectError("*11\r\n", ProtoError::UnauthMultibulkLength, unauthMbulk, false);
  OneShot atCap(resp_test::mbulk({"AUTH", std::string(16384, 'p')}), {}, false);
  CHECK(atCap.result.status == ParseStatus::Complete);
  expectError("*2\r\n$4\r\nAUTH\r\n$16385\r\n", ProtoError::UnauthBulkLength, unauthBulk, false);
  // Redis's own cap is INT_MAX, so above our maxArgs it still says "unauthenticated".
  expectError("*1048577\r\n", ProtoError::UnauthMultibulkLength, unauthMbulk, false);
  // Malformed input keeps the ordinary wording: Redis checks validity first.
  expectError("*3000000000\r\n", ProtoError::InvalidMultibulkLength, kInvalidMbulk, false);
  expectError("*1\r\n$-1\r\n", ProtoError::InvalidBulkLength, kInvalidBulk, false);
  expectError("*1\r\n$536870913\r\n", ProtoError::InvalidBulkLength, kInvalidBulk, false);
  // Inline requests have no argument cap in Redis (their line is capped instead).
  OneShot inl("a b c d e f g h i j k l\r\n", {}, false);
  REQUIRE(inl.result.status == ParseStatus::Complete);
  CHECK(inl.parser.argc() == 12);

  resp::Limits custom;
  custom.unauthMaxArgs = 2;
  custom.unauthMaxBulkBytes = 3;
  expectError("*3\r\n", ProtoError::UnauthMultibulkLength, unauthMbulk, false, custom);
  expectError("*1\r\n$4\r\n", ProtoError::UnauthBulkLength, unauthBulk, false, custom);

  resp::RequestParser parser;
  parser.setAuthenticated(false);
  REQUIRE(parser.parse("*11\r\n").status == ParseStatus::Error);
  parser.setAuthenticated(true);
  CHECK(parser.parse("*11\r\n").status == ParseStatus::Incomplete);
}

TEST_CASE("a client's declared count allocates nothing up front", "[errors][limits]") {
  // Resuming "*1048576" one argument at a time must work and stay proportional to the
  // arguments received (resp_alloc_test.cpp measures the allocations themselves).
  resp::RequestParser parser;
  std::string wire = "*1048576\r\n";
  for (int i = 0; i < 100; ++i) wire += "$1\r\nx\r\n";
  const auto r = parser.parse(wire);
  CHECK(r.status == ParseStatus::Incomplete);
  CHECK(r.consumed == 0);
}
