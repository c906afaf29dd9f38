// Live check of the command table (proxy/command) against a real redis-server 7.0: the
// committed table must match COMMAND exactly (names, arity, key spec, flags, numkeys), and
// keyIndices must agree with Redis's own COMMAND GETKEYS. Each test case starts a private
// server (testsupport::RedisServer: free loopback port, stopped by PID) and talks to it
// with testsupport::Client. Run by ctest as "command-live: ..."; needs redis-server.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "proxy/command/command_table.h"
#include "tests/support/redis_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace {

using testsupport::Client;
using testsupport::Reply;
using testsupport::ReplyType;

// A private redis-server and one connection to it; the server is stopped (by PID) and its
// directory removed on every path, including a failed REQUIRE.
struct LiveRedis {
  testsupport::TempDir dir;
  testsupport::RedisServer server{dir, "cmdlive"};
  Client client = server.client();
};

// One command; an I/O failure (no reply at all) fails the test case.
Reply run(Client& client, const std::vector<std::string>& args) {
  Reply reply = client.cmd(args);
  INFO("I/O error: " << reply.str);
  REQUIRE(reply.type != ReplyType::IoError);
  return reply;
}

std::vector<std::string> withGetKeys(const std::vector<std::string>& argv) {
  std::vector<std::string> request{"COMMAND", "GETKEYS"};
  request.insert(request.end(), argv.begin(), argv.end());
  return request;
}

std::string_view text(const Reply* r) { return r->str; }

// RESP2 flattens maps to [k, v, k, v...].
const Reply* field(const Reply* map, std::string_view key) {
  for (size_t i = 0; i + 1 < map->elements.size(); i += 2) {
    if (text(&map->elements[i]) == key) return &map->elements[i + 1];
  }
  return nullptr;
}

long long intField(const Reply* map, std::string_view key) {
  const Reply* value = field(map, key);
  REQUIRE(value != nullptr);
  REQUIRE(value->type == ReplyType::Integer);
  return value->integer;
}

// numkeys position from Redis's `keynum` key spec: begin index + keynumidx.
int keynumIndex(const Reply* keySpecs) {
  for (const Reply& spec : keySpecs->elements) {
    const Reply* find = field(&spec, "find_keys");
    if (find == nullptr || text(field(find, "type")) != "keynum") continue;
    const Reply* begin = field(&spec, "begin_search");
    return static_cast<int>(intField(field(begin, "spec"), "index") +
                            intField(field(find, "spec"), "keynumidx"));
  }
  return 0;
}

using KeySpec = std::tuple<long long, long long, long long>;

// The single (first, last, step) shared by all keyed subcommands, if they agree.
std::optional<KeySpec> subcommandKeySpec(const Reply* subcommands) {
  std::set<KeySpec> specs;
  for (const Reply& sub : subcommands->elements) {
    if (sub.elements[3].integer > 0) {
      specs.emplace(sub.elements[3].integer, sub.elements[4].integer, sub.elements[5].integer);
    }
  }
  if (specs.size() != 1) return std::nullopt;
  return *specs.begin();
}

}  // namespace

TEST_CASE("table matches redis-server COMMAND exactly", "[command][live]") {
  LiveRedis redis;
  Reply info = run(redis.client, {"INFO", "server"});
  REQUIRE(info.type == ReplyType::String);
  REQUIRE(text(&info).find("redis_version:7.0.") != std::string_view::npos);

  Reply commands = run(redis.client, {"COMMAND"});
  REQUIRE(commands.type == ReplyType::Array);
  std::set<std::string> redisNames;
  for (const Reply& entryReply : commands.elements) {
    const Reply* entry = &entryReply;
    REQUIRE(entry->elements.size() >= 10);
    const std::string name(text(&entry->elements[0]));
    redisNames.insert(name);
    INFO("command " << name);
    const cmd::CommandSpec* spec = cmd::lookup(name);
    REQUIRE(spec != nullptr);
    CHECK(spec->arity == entry->elements[1].integer);

    uint32_t flags = 0;
    for (const Reply& flagReply : entry->elements[2].elements) {
      const auto flag = cmd::flagFromName(text(&flagReply));
      INFO("flag " << text(&flagReply));
      REQUIRE(flag.has_value());
      flags |= *flag;
    }
    CHECK(spec->flags == flags);

    KeySpec expected{entry->elements[3].integer, entry->elements[4].integer,
                     entry->elements[5].integer};
    // Containers (object, memory, xinfo, xgroup) carry their keyed subcommands' spec; the
    // substitution is legal only where Redis's top level names no key.
    if (std::get<0>(expected) == 0 && spec->firstKey > 0) {
      const auto fromSubcommands = subcommandKeySpec(&entry->elements[9]);
      REQUIRE(fromSubcommands.has_value());
      expected = *fromSubcommands;
    }
    CHECK(KeySpec{spec->firstKey, spec->lastKey, spec->keyStep} == expected);
    CHECK(spec->numKeysIndex == keynumIndex(&entry->elements[8]));
  }

  std::set<std::string> ours;
  for (const auto& spec : cmd::allCommands()) ours.emplace(spec.name);
  CHECK(ours == redisNames);
  CHECK(cmd::allCommands().size() == redisNames.size());
}

TEST_CASE("keyIndices agrees with COMMAND GETKEYS", "[command][live]") {
  LiveRedis redis;
  // Malformed instances where Redis still lists keys but we refuse, on purpose: splitting
  // or routing them would send a broken command onwards. Redis rejects them when run.
  const std::vector<std::vector<std::string>> weRefuse = {
      {"mset", "a", "1", "b"},
      {"xread", "BLOCK", "0", "STREAMS", "a", "b", "0"},
  };
  for (const auto& argv : weRefuse) {
    INFO(argv[0] << " with " << argv.size() << " arguments");
    Reply reply = run(redis.client, withGetKeys(argv));
    CHECK(reply.type == ReplyType::Array);
    std::vector<size_t> indices;
    CHECK_FALSE(cmd::keyIndices(*cmd::lookup(argv[0]), argv.size(),
                                [&](size_t i) { return std::string_view(argv.at(i)); },
                                indices));
  }

  // Sharded pub/sub is left out: GETKEYS calls shard channels "no key arguments", yet we
  // route them by hash (covered in command_table_test.cpp).
  const std::vector<std::vector<std::string>> cases = {
      {"get", "k"},
      {"set", "k", "v", "EX", "10"},
      {"mset", "a", "1", "b", "2"},
      {"del", "a", "b", "c"},
      {"blpop", "a", "b", "0"},
      {"bitop", "AND", "d", "a", "b"},
      {"rename", "a", "b"},
      {"lmove", "a", "b", "LEFT", "RIGHT"},
      {"watch", "a", "b"},
      {"eval", "return 1", "2", "a", "b", "x"},
      {"eval", "return 1", "0"},
      {"fcall", "f", "1", "a", "x"},
      {"zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"},
      {"zdiffstore", "d", "1", "a"},
      {"zunion", "2", "a", "b"},
      {"zunion", "0", "a"},
      {"zintercard", "2", "a", "b", "LIMIT", "1"},
      {"sintercard", "1", "a"},
      {"lmpop", "2", "a", "b", "LEFT"},
      {"zmpop", "1", "z", "MIN"},
      {"blmpop", "0", "2", "a", "b", "RIGHT"},
      {"blmpop", "0", "-1", "a", "LEFT"},
      {"bzmpop", "1", "1", "z", "MAX", "COUNT", "3"},
      {"sort", "k"},
      {"sort", "k", "BY", "store"},
      {"sort", "k", "LIMIT", "0", "store"},
      {"sort", "k", "GET", "#", "STORE", "d"},
      {"sort", "k", "store", "d", "store", "e"},
      {"sort_ro", "k", "ALPHA"},
      {"georadius", "k", "1", "2", "3", "m", "STORE", "d"},
      {"georadiusbymember", "k", "m", "3", "km", "STOREDIST", "d"},
      {"georadius", "k", "1", "2", "3", "m", "WITHDIST"},
      {"xread", "COUNT", "5", "STREAMS", "a", "b", "0", "0"},
      {"xread", "BLOCK", "0", "STREAMS", "a", "b", "$", "$"},
      {"xreadgroup", "GROUP", "streams", "c", "NOACK", "STREAMS", "s1", "s2", ">", ">"},
      {"migrate", "h", "6379", "k", "0", "1000"},
      {"migrate", "h", "6379", "", "0", "1000", "AUTH", "keys", "KEYS", "a", "b"},
      {"migrate", "h", "6379", "", "0", "1000", "COPY", "AUTH2", "u", "p", "KEYS", "a"},
      {"object", "encoding", "k"},
      {"object", "help"},
      {"memory", "usage", "k", "SAMPLES", "5"},
      {"xinfo", "stream", "s", "FULL"},
      {"xgroup", "create", "s", "g", "$", "MKSTREAM"},
      {"geosearchstore", "d", "s", "FROMMEMBER", "m", "BYRADIUS", "1", "km"},
      {"copy", "a", "b", "REPLACE"},
      {"pfdebug", "getreg", "h"},
  };
  for (const auto& argv : cases) {
    std::string shown;
    for (const auto& a : argv) shown += (shown.empty() ? "" : " ") + (a.empty() ? "\"\"" : a);
    INFO(shown);
    const cmd::CommandSpec* spec = cmd::lookup(argv[0]);
    REQUIRE(spec != nullptr);
    std::vector<size_t> indices;
    const bool ok = cmd::keyIndices(*spec, argv.size(),
                                    [&](size_t i) { return std::string_view(argv.at(i)); },
                                    indices);
    std::vector<std::string> ourKeys;
    for (size_t i : indices) ourKeys.push_back(argv.at(i));

    Reply reply = run(redis.client, withGetKeys(argv));
    if (reply.type == ReplyType::Error) {
      // Redis found no keys or rejected the arguments: we must not route by any key.
      CHECK((!ok || ourKeys.empty()));
      continue;
    }
    REQUIRE(reply.type == ReplyType::Array);
    std::vector<std::string> redisKeys;
    for (const Reply& key : reply.elements) redisKeys.emplace_back(text(&key));
    CHECK(ok);
    CHECK(ourKeys == redisKeys);
  }
}
