// Live comparison of the locally answered commands (proxy/server/local_commands.cpp,
// command_reply.cpp, info_reply.cpp) with a private redis-server 7.0.15: byte-exact where
// ringproxy claims exactness, field by field where it sends less than Redis (COMMAND's
// trailing arrays, INFO's fields). Each test case starts its own server
// (testsupport::RedisServer: free loopback port, stopped by PID) and reads its raw reply
// frames over a testsupport::RawSocket. Without redis-server installed the cases warn and
// pass. Run by ctest as "local: ...".
#include <catch2/catch.hpp>

#include <unistd.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command/command_table.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/server/local_commands.h"
#include "tests/support/net.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace {

using Argv = std::vector<std::string>;

bool redisInstalled() { return ::access(testsupport::redisServerBinary().c_str(), X_OK) == 0; }

// A private redis-server and one raw RESP connection to it. The server is stopped (by its
// PID) and its directory removed on every path, including a failed REQUIRE.
class LiveRedis {
 public:
  LiveRedis() = default;
  LiveRedis(const LiveRedis&) = delete;
  LiveRedis& operator=(const LiveRedis&) = delete;

  // Sends one command and returns Redis's raw reply frame.
  std::string call(const Argv& argv) {
    REQUIRE(socket_.sendAll(testsupport::respCommand(argv)));
    resp::ReplyScanner scanner;
    std::string reply;
    for (;;) {
      const std::string chunk = socket_.recvSome();
      REQUIRE(!chunk.empty());
      reply += chunk;
      const resp::ParseResult r = scanner.scan(reply);
      REQUIRE(r.status != resp::ParseStatus::Error);
      if (r.status == resp::ParseStatus::Complete) {
        REQUIRE(r.consumed == reply.size());
        return reply;
      }
    }
  }

 private:
  testsupport::TempDir dir_;
  testsupport::RedisServer server_{dir_, "locallive"};
  testsupport::RawSocket socket_{server_.port()};
};

std::string ours(const Argv& argv) {
  const proxy::LocalArgs args{argv.size(), [&argv](size_t i) { return std::string_view(argv.at(i)); }};
  proxy::LocalState state;
  std::string out;
  proxy::runLocalCommand(args, state, proxy::LocalInfo{}, out);
  return out;
}

std::vector<std::string> bulkStrings(std::string_view frame) {
  std::vector<std::string_view> items;
  REQUIRE(resp::splitArray(frame, items));
  std::vector<std::string> out;
  for (std::string_view item : items) {
    REQUIRE(item.front() == '$');
    const size_t body = item.find("\r\n") + 2;
    out.emplace_back(item.substr(body, item.size() - body - 2));
  }
  return out;
}

#define SKIP_WITHOUT_REDIS()                                          \
  if (!redisInstalled()) {                                            \
    WARN("redis-server is not installed: live comparison skipped"); \
    return;                                                           \
  }

}  // namespace

TEST_CASE("live: replies ringproxy claims exact match Redis byte for byte", "[local][live]") {
  SKIP_WITHOUT_REDIS();
  LiveRedis redis;
  const std::vector<Argv> cases = {
      {"COMMAND", "COUNT"}, {"COMMAND", "HELP"}, {"command", "help"}, {"COMMAND", "foo"},
      {"COMMAND", "COUNT", "x"}, {"COMMAND", "HELP", "x"}, {"COMMAND", "LIST", "x"},
      {"COMMAND", "LIST", "FILTERBY", "x", "y"}, {"COMMAND", "LIST", "FILTERBY", "PATTERN"},
      {"COMMAND", "LIST", "FILTERBY", "MODULE", "m"}, {"COMMAND", "LIST", "FILTERBY", "PATTERN", ""},
      {"COMMAND", "INFO", "nosuch"}, {"COMMAND", "DOCS", "nosuch"}, {"COMMAND", "GETKEYS"},
      {"COMMAND", "GETKEYS", "get"}, {"INFO", "nosuch"}, {"INFO", "keyspace"},
      {"LOLWUT"}, {"LOLWUT", "VERSION", "1"}, {"LOLWUT", "VERSION", "x"},
      {"LOLWUT", "VERSION", "5", "x"}, {"LOLWUT", "VERSION", "05"}, {"LOLWUT", "foo"},
      {"PING"}, {"PING", "hi"}, {"PING", "a", "b"}, {"ECHO", "hi"}, {"ECHO"}, {"TIME", "x"},
      {"RESET", "x"},
  };
  for (const Argv& argv : cases) {
    INFO(argv.at(0) << " " << (argv.size() > 1 ? argv[1] : "") << " (" << argv.size() << " args)");
    CHECK(ours(argv) == redis.call(argv));
  }
}

TEST_CASE("live: every COMMAND entry matches Redis in its first six fields", "[local][live]") {
  SKIP_WITHOUT_REDIS();
  LiveRedis redis;
  for (const auto& spec : cmd::allCommands()) {
    const Argv argv{"COMMAND", "INFO", std::string(spec.name)};
    const std::string theirs = redis.call(argv);
    const std::string mine = ours(argv);
    std::vector<std::string_view> theirOuter, myOuter, theirFields, myFields;
    REQUIRE(resp::splitArray(theirs, theirOuter));
    REQUIRE(resp::splitArray(mine, myOuter));
    REQUIRE(theirOuter.size() == 1);
    REQUIRE(myOuter.size() == 1);
    REQUIRE(resp::splitArray(theirOuter[0], theirFields));
    REQUIRE(resp::splitArray(myOuter[0], myFields));
    REQUIRE(theirFields.size() == 10);
    REQUIRE(myFields.size() == 10);
    for (size_t i = 0; i < 6; ++i) {
      INFO(spec.name << " field " << i);
      CHECK(myFields[i] == theirFields[i]);
    }
  }
}

TEST_CASE("live: COMMAND LIST names what Redis names", "[local][live]") {
  SKIP_WITHOUT_REDIS();
  LiveRedis redis;
  for (const char* pattern : {"*", "x*", "CONFIG*", "*|h[a-e]lp", "?et", "[^a-x]*", "*\\|*"}) {
    const Argv argv{"COMMAND", "LIST", "FILTERBY", "PATTERN", pattern};
    INFO(pattern);
    const auto theirs = bulkStrings(redis.call(argv));
    const auto mine = bulkStrings(ours(argv));
    CHECK(std::set<std::string>(mine.begin(), mine.end()) ==
          std::set<std::string>(theirs.begin(), theirs.end()));
    CHECK(mine.size() == theirs.size());
  }
}

TEST_CASE("live: COMMAND GETKEYS agrees with Redis over every command", "[local][live]") {
  SKIP_WITHOUT_REDIS();
  LiveRedis redis;
  // Generic argument shapes: too few, keys, numkeys counts (valid and not), extra words.
  const std::vector<Argv> shapes = {
      {}, {"a"}, {"a", "b"}, {"1", "a"}, {"a", "1", "b"}, {"2", "a", "b"}, {"a", "2", "b", "c"},
      {"0", "a"}, {"a", "b", "c", "d"}, {"1", "a", "b", "c", "d", "e"},
      {"help"}, {"encoding", "k"}, {"usage", "k"}, {"k", "STORE", "d"}};
  for (const auto& spec : cmd::allCommands()) {
    for (const Argv& shape : shapes) {
      Argv argv{"COMMAND", "GETKEYS", std::string(spec.name)};
      argv.insert(argv.end(), shape.begin(), shape.end());
      INFO(spec.name << " with " << shape.size() << " args");
      CHECK(ours(argv) == redis.call(argv));
    }
  }
}

TEST_CASE("live: INFO fields are Redis's, in Redis's order", "[local][live]") {
  SKIP_WITHOUT_REDIS();
  LiveRedis redis;
  const std::string theirs = redis.call({"INFO", "everything"});
  const std::string mine = ours({"INFO"});
  const auto keysOf = [](std::string_view frame) {
    std::vector<std::string> keys;
    std::string_view body = frame.substr(frame.find("\r\n") + 2);
    while (!body.empty()) {
      const size_t eol = std::min(body.find("\r\n"), body.size());
      const std::string_view line = body.substr(0, eol);
      if (!line.empty()) keys.emplace_back(line.substr(0, line.find(':')));
      body.remove_prefix(std::min(eol + 2, body.size()));
    }
    return keys;
  };
  const auto theirKeys = keysOf(theirs);
  size_t next = 0;  // our fields must appear in Redis's list in the same order
  for (const std::string& key : keysOf(mine)) {
    if (key == "ringproxy_version" || key == "# Ringproxy" || key == "shards" || key == "workers") {
      continue;
    }
    INFO(key);
    size_t at = next;
    while (at < theirKeys.size() && theirKeys[at] != key) ++at;
    CHECK(at < theirKeys.size());
    if (at < theirKeys.size()) next = at + 1;
  }
  const auto lineOf = [](std::string_view text, std::string_view key) {
    const size_t at = text.find(std::string("\r\n") + std::string(key) + ":");
    return at == std::string_view::npos ? std::string_view()
                                        : text.substr(at + 2, text.find("\r\n", at + 2) - at - 2);
  };
  CHECK(lineOf(mine, "os") == lineOf(theirs, "os"));
  CHECK(lineOf(mine, "arch_bits") == lineOf(theirs, "arch_bits"));
  CHECK(lineOf(mine, "redis_version") == lineOf(theirs, "redis_version"));
}
