// resp_writer encoders: byte-exact output, and round trips through RequestParser and
// ReplyScanner so the three pieces of the codec agree with each other.

#include "proxy/resp/resp_writer.h"

#include <array>
#include <catch2/catch.hpp>
#include <climits>
#include <string_view>
#include <vector>

#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/request_parser.h"

namespace {

template <typename F>
std::string encode(F f) {
  std::string out;
  f(out);
  return out;
}

}  // namespace

TEST_CASE("simple strings and errors", "[writer]") {
  CHECK(encode([](std::string& o) { resp::appendSimple(o, "OK"); }) == "+OK\r\n");
  CHECK(encode([](std::string& o) { resp::appendSimple(o, ""); }) == "+\r\n");
  CHECK(encode([](std::string& o) { resp::appendError(o, "ERR unknown command 'x'"); }) ==
        "-ERR unknown command 'x'\r\n");
  // A CR or LF would end the line early and desync the client; Redis maps them to spaces.
  CHECK(encode([](std::string& o) { resp::appendError(o, "ERR bad\r\nname"); }) ==
        "-ERR bad  name\r\n");
  CHECK(encode([](std::string& o) { resp::appendSimple(o, "a\nb"); }) == "+a b\r\n");
}

TEST_CASE("integers", "[writer]") {
  CHECK(encode([](std::string& o) { resp::appendInteger(o, 0); }) == ":0\r\n");
  CHECK(encode([](std::string& o) { resp::appendInteger(o, -1); }) == ":-1\r\n");
  CHECK(encode([](std::string& o) { resp::appendInteger(o, 1000); }) == ":1000\r\n");
  CHECK(encode([](std::string& o) { resp::appendInteger(o, INT64_MAX); }) ==
        ":9223372036854775807\r\n");
  CHECK(encode([](std::string& o) { resp::appendInteger(o, INT64_MIN); }) ==
        ":-9223372036854775808\r\n");
}

TEST_CASE("bulks, nulls and array headers", "[writer]") {
  CHECK(encode([](std::string& o) { resp::appendBulk(o, "foo"); }) == "$3\r\nfoo\r\n");
  CHECK(encode([](std::string& o) { resp::appendBulk(o, ""); }) == "$0\r\n\r\n");
  const std::string binary("a\r\n\0b", 5);
  CHECK(encode([&](std::string& o) { resp::appendBulk(o, binary); }) ==
        std::string("$5\r\n") + binary + "\r\n");
  const std::string big(123456, 'z');
  CHECK(encode([&](std::string& o) { resp::appendBulk(o, big); }) ==
        std::string("$123456\r\n") + big + "\r\n");
  CHECK(encode([](std::string& o) { resp::appendNullBulk(o); }) == "$-1\r\n");
  CHECK(encode([](std::string& o) { resp::appendNullArray(o); }) == "*-1\r\n");
  CHECK(encode([](std::string& o) { resp::appendArrayHeader(o, 0); }) == "*0\r\n");
  CHECK(encode([](std::string& o) { resp::appendArrayHeader(o, 12345); }) == "*12345\r\n");
  CHECK(encode([](std::string& o) { resp::appendArrayHeader(o, SIZE_MAX); }) ==
        "*18446744073709551615\r\n");
}

TEST_CASE("appends keep what is already in the buffer", "[writer]") {
  std::string out = "prefix";
  resp::appendSimple(out, "OK");
  resp::appendInteger(out, 7);
  resp::appendNullBulk(out);
  CHECK(out == "prefix+OK\r\n:7\r\n$-1\r\n");
}

TEST_CASE("appendCommand encodes any range of strings", "[writer]") {
  const std::vector<std::string> vec{"SET", "k", ""};
  CHECK(encode([&](std::string& o) { resp::appendCommand(o, vec); }) ==
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  const std::array<std::string_view, 2> arr{"GET", "key"};
  CHECK(encode([&](std::string& o) { resp::appendCommand(o, arr); }) ==
        "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
  const std::vector<const char*> cstrs{"PING"};
  CHECK(encode([&](std::string& o) { resp::appendCommand(o, cstrs); }) == "*1\r\n$4\r\nPING\r\n");
  const std::vector<std::string> none;
  CHECK(encode([&](std::string& o) { resp::appendCommand(o, none); }) == "*0\r\n");
}

TEST_CASE("writer output round-trips through the parser and the scanner", "[writer]") {
  const std::vector<std::string> args{"MSET", std::string("\0\r\n", 3), "",
                                      std::string(70000, 'q')};
  std::string wire;
  resp::appendCommand(wire, args);
  resp::RequestParser parser;
  const auto r = parser.parse(wire);
  REQUIRE(r.status == resp::ParseStatus::Complete);
  CHECK(r.consumed == wire.size());
  REQUIRE(parser.argc() == args.size());
  for (size_t i = 0; i < args.size(); ++i) CHECK(parser.arg(i) == args[i]);

  std::string reply;
  resp::appendArrayHeader(reply, 5);
  resp::appendSimple(reply, "OK");
  resp::appendError(reply, "ERR no");
  resp::appendInteger(reply, INT64_MIN);
  resp::appendNullBulk(reply);
  resp::appendNullArray(reply);
  resp::ReplyScanner scanner;
  const auto s = scanner.scan(reply);
  CHECK(s.status == resp::ParseStatus::Complete);
  CHECK(s.consumed == reply.size());
}
