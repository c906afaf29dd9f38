// Unit tests for the connection-level replies of proxy/server/local_commands.cpp (PING,
// ECHO, TIME, RESET, READONLY/READWRITE, LOLWUT, the arity guard), byte for byte against
// what Redis 7.0.15 sends. Run by ctest as "local: ...".
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/server/local_commands.h"

namespace {

struct Outcome {
  std::string reply;
  proxy::LocalAction action;
};

Outcome runWith(proxy::LocalState& state, std::initializer_list<std::string_view> argv) {
  const std::vector<std::string_view> args(argv);
  const proxy::LocalArgs local{args.size(), [&args](size_t i) { return args.at(i); }};
  Outcome outcome{{}, proxy::LocalAction::Reply};
  outcome.action = proxy::runLocalCommand(local, state, proxy::LocalInfo{}, outcome.reply);
  return outcome;
}

std::string run(std::initializer_list<std::string_view> argv) {
  proxy::LocalState state;
  return runWith(state, argv).reply;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

TEST_CASE("PING and ECHO", "[local]") {
  CHECK(run({"PING"}) == "+PONG\r\n");
  CHECK(run({"ping", "hi"}) == "$2\r\nhi\r\n");
  CHECK(run({"PING", "a", "b"}) == "-ERR wrong number of arguments for 'ping' command\r\n");
  CHECK(run({"ECHO", "hello"}) == "$5\r\nhello\r\n");
  CHECK(run({"echo", ""}) == "$0\r\n\r\n");
}

TEST_CASE("arity is checked before any argument is read", "[local]") {
  CHECK(run({"ECHO"}) == "-ERR wrong number of arguments for 'echo' command\r\n");
  CHECK(run({"TIME", "x"}) == "-ERR wrong number of arguments for 'time' command\r\n");
  CHECK(run({"READONLY", "x"}) == "-ERR wrong number of arguments for 'readonly' command\r\n");
  CHECK(run({"SELECT"}) == "-ERR wrong number of arguments for 'select' command\r\n");
}

TEST_CASE("TIME is seconds and microseconds as bulk strings", "[local]") {
  const std::string reply = run({"TIME"});
  REQUIRE(reply.rfind("*2\r\n$10\r\n", 0) == 0);  // ten-digit epoch seconds until 2286
  const size_t usec = reply.find("\r\n$", 9);
  REQUIRE(usec != std::string::npos);
  const int digits = std::stoi(reply.substr(usec + 3));
  CHECK(digits >= 1);
  CHECK(digits <= 6);
}

TEST_CASE("RESET, READONLY and READWRITE", "[local]") {
  proxy::LocalState state;
  state.name = "worker-1";
  CHECK(runWith(state, {"RESET"}).reply == "+RESET\r\n");
  CHECK(state.name.empty());
  CHECK(run({"READONLY"}) == "+OK\r\n");
  CHECK(run({"readwrite"}) == "+OK\r\n");
  CHECK(runWith(state, {"QUIT"}).action == proxy::LocalAction::ReplyThenClose);
}

TEST_CASE("LOLWUT answers like Redis 7.0.15", "[local][lolwut]") {
  const std::string bare = "$18\r\nRedis ver. 7.0.15\n\r\n";
  CHECK(run({"LOLWUT"}) == bare);
  CHECK(run({"lolwut", "VERSION", "7"}) == bare);
  CHECK(run({"LOLWUT", "version", "1"}) == bare);
  CHECK(run({"LOLWUT", "10", "20"}) == bare);  // drawing args without VERSION: ignored
  CHECK(run({"LOLWUT", "VERSION"}) == bare);   // VERSION without a value: not an option

  const std::string notInteger = "-ERR value is not an integer or out of range\r\n";
  CHECK(run({"LOLWUT", "VERSION", "x"}) == notInteger);
  CHECK(run({"LOLWUT", "VERSION", "05"}) == notInteger);
  CHECK(run({"LOLWUT", "VERSION", "+5"}) == notInteger);
  CHECK(run({"LOLWUT", "VERSION", "5", "1", "2", "x"}) == notInteger);
  CHECK(run({"LOLWUT", "VERSION", "6", "1", "x"}) == notInteger);
  CHECK(run({"LOLWUT", "VERSION", "6", "1", "2", "x"}) != notInteger);  // 6 reads only two

  const std::string five = run({"LOLWUT", "VERSION", "5"});
  CHECK(five.rfind("$", 0) == 0);
  CHECK(endsWith(five, "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15\n\r\n"));
  CHECK(run({"LOLWUT", "VERSION", "4294967301"}) == five);  // Redis prints the long with %u

  const std::string six = run({"LOLWUT", "VERSION", "6"});
  CHECK(endsWith(six, "\nDedicated to the 8 bit game developers of past and present.\n"
                      "Original 8 bit image from Plaguemon by hikikomori. Redis ver. 7.0.15\n\r\n"));
}

TEST_CASE("every Local command in the table gets an answer that is not 'unsupported'",
          "[local]") {
  for (std::string_view name : {"command", "info", "lolwut", "readonly", "readwrite", "reset",
                                "time", "ping"}) {
    INFO(name);
    CHECK(run({name}).find("not supported") == std::string::npos);
  }
}
