// Unit tests for the command table (proxy/command): lookup, arity, strategies and key
// extraction, with no Redis needed. The live comparison against redis-server is in
// command_table_live_test.cpp. Run by ctest as "command: ...".
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command/command_table.h"

namespace {

// Runs keyIndices over a literal argv; `ok` reports its return value.
struct KeysResult {
  bool ok;
  std::vector<size_t> indices;
};

KeysResult keysOf(std::initializer_list<std::string_view> argv) {
  const std::vector<std::string_view> args(argv);
  const cmd::CommandSpec* spec = cmd::lookup(args.at(0));
  REQUIRE(spec != nullptr);
  KeysResult result{false, {}};
  result.ok = cmd::keyIndices(*spec, args.size(),
                              [&](size_t i) { return args.at(i); }, result.indices);
  return result;
}

using Idx = std::vector<size_t>;

cmd::Strategy strategyOf(std::string_view name) {
  const cmd::CommandSpec* spec = cmd::lookup(name);
  REQUIRE(spec != nullptr);
  return spec->strategy;
}

}  // namespace

TEST_CASE("table covers Redis 7.0 and every entry is routable", "[command]") {
  const auto all = cmd::allCommands();
  CHECK(all.size() >= 240);
  for (const auto& spec : all) {
    INFO(spec.name);
    CHECK(cmd::strategyName(spec.strategy) != "?");
    CHECK(spec.arity != 0);
    CHECK(cmd::lookup(spec.name) == &spec);
    if (spec.strategy == cmd::Strategy::SingleKey) CHECK(spec.firstKey > 0);
    if (spec.strategy == cmd::Strategy::NumKeys) CHECK(spec.numKeysIndex > 0);
    if (spec.numKeysIndex > 0) CHECK(spec.has(cmd::MovableKeys));
  }
}

TEST_CASE("lookup is case-insensitive and rejects unknown names", "[command]") {
  const cmd::CommandSpec* get = cmd::lookup("GeT");
  REQUIRE(get != nullptr);
  CHECK(get->name == "get");
  CHECK(cmd::lookup("GET") == get);
  CHECK(cmd::lookup("restore-ASKING") != nullptr);
  CHECK(cmd::lookup("GEORADIUSBYMEMBER_RO") != nullptr);
  CHECK(cmd::lookup("nosuchcommand") == nullptr);
  CHECK(cmd::lookup("") == nullptr);
  CHECK(cmd::lookup("ge") == nullptr);
  CHECK(cmd::lookup("gett") == nullptr);
  CHECK(cmd::lookup(std::string(40, 'a')) == nullptr);
  CHECK(cmd::lookup("object|encoding") == nullptr);  // subcommands are not top-level rows
}

TEST_CASE("arity follows Redis: exact when positive, minimum when negative", "[command]") {
  const auto& get = *cmd::lookup("get");
  CHECK(get.arity == 2);
  CHECK(cmd::arityOk(get, 2));
  CHECK_FALSE(cmd::arityOk(get, 1));
  CHECK_FALSE(cmd::arityOk(get, 3));

  const auto& set = *cmd::lookup("set");
  CHECK(set.arity == -3);
  CHECK_FALSE(cmd::arityOk(set, 2));
  CHECK(cmd::arityOk(set, 3));
  CHECK(cmd::arityOk(set, 7));

  CHECK(cmd::arityOk(*cmd::lookup("ping"), 1));
  CHECK(cmd::arityOk(*cmd::lookup("ping"), 2));
  CHECK_FALSE(cmd::arityOk(*cmd::lookup("eval"), 2));
}

TEST_CASE("strategies for representative commands", "[command]") {
  using S = cmd::Strategy;
  for (auto name : {"ping", "echo", "quit", "select", "hello", "auth", "client", "command",
                    "info", "config", "time", "lolwut", "reset"}) {
    INFO(name);
    CHECK(strategyOf(name) == S::Local);
  }
  for (auto name : {"get", "set", "hset", "zadd", "xadd", "sort_ro", "object", "xinfo"}) {
    INFO(name);
    CHECK(strategyOf(name) == S::SingleKey);
  }
  for (auto name : {"mget", "mset", "del", "unlink", "exists", "touch"}) {
    INFO(name);
    CHECK(strategyOf(name) == S::Fanout);
  }
  for (auto name : {"rename", "smove", "sinterstore", "lmove", "msetnx", "sort"}) {
    INFO(name);
    CHECK(strategyOf(name) == S::CoLocated);
  }
  for (auto name : {"eval", "evalsha_ro", "fcall", "zunion", "zunionstore", "lmpop", "zmpop",
                    "sintercard"}) {
    INFO(name);
    CHECK(strategyOf(name) == S::NumKeys);
  }
  for (auto name : {"scan", "randomkey", "keys", "flushdb", "flushall", "dbsize"}) {
    INFO(name);
    CHECK(strategyOf(name) == S::Keyspace);
  }
  CHECK(strategyOf("script") == S::Broadcast);
  CHECK(strategyOf("function") == S::Broadcast);
  for (auto name : {"multi", "exec", "discard", "watch", "unwatch"}) {
    INFO(name);
    CHECK(strategyOf(name) == S::Transaction);
  }
  for (auto name : {"subscribe", "psubscribe", "ssubscribe", "publish", "spublish", "pubsub"}) {
    INFO(name);
    CHECK(strategyOf(name) == S::PubSub);
  }
  for (auto name : {"blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin", "bzmpop",
                    "xread", "xreadgroup", "wait"}) {
    INFO(name);
    CHECK(strategyOf(name) == S::Blocking);
  }
  for (auto name : {"cluster", "migrate", "move", "monitor", "sync", "psync", "replicaof",
                    "slaveof", "debug", "shutdown", "failover"}) {
    INFO(name);
    CHECK(strategyOf(name) == S::Unsupported);
  }
}

TEST_CASE("flags mirror Redis and round-trip by name", "[command]") {
  const auto& get = *cmd::lookup("get");
  CHECK(get.flags == (cmd::ReadOnly | cmd::Fast));
  CHECK(cmd::lookup("eval")->has(cmd::NoMandatoryKeys));
  CHECK(cmd::lookup("xread")->has(cmd::MovableKeys));
  CHECK(cmd::lookup("blpop")->has(cmd::Blocking));
  CHECK(cmd::flagName(cmd::MovableKeys) == "movablekeys");
  CHECK(cmd::flagFromName("no_auth") == cmd::NoAuth);
  CHECK_FALSE(cmd::flagFromName("bogus").has_value());
  CHECK(cmd::strategyName(cmd::Strategy::CoLocated) == "CoLocated");
}

TEST_CASE("key indices from the legacy range", "[command][keys]") {
  CHECK(keysOf({"get", "k"}).indices == Idx{1});
  CHECK(keysOf({"set", "k", "v", "EX", "10"}).indices == Idx{1});
  CHECK(keysOf({"del", "a", "b", "c"}).indices == Idx{1, 2, 3});
  CHECK(keysOf({"mset", "a", "1", "b", "2"}).indices == Idx{1, 3});
  CHECK(keysOf({"mget", "a", "b"}).indices == Idx{1, 2});
  CHECK(keysOf({"blpop", "a", "b", "0"}).indices == Idx{1, 2});  // lastKey -2: timeout last
  CHECK(keysOf({"bitop", "AND", "dst", "a", "b"}).indices == Idx{2, 3, 4});
  CHECK(keysOf({"rename", "a", "b"}).indices == Idx{1, 2});
  CHECK(keysOf({"ping"}).indices.empty());
  CHECK(keysOf({"ping"}).ok);
}

TEST_CASE("shard channels route like keys", "[command][keys]") {
  // Redis's GETKEYS says "no key arguments", but a sharded channel lives on its slot's
  // node, so the proxy hashes it like a key.
  CHECK(keysOf({"spublish", "ch", "msg"}).indices == Idx{1});
  CHECK(keysOf({"ssubscribe", "a", "b"}).indices == Idx{1, 2});
  CHECK(keysOf({"sunsubscribe"}).indices.empty());
}

TEST_CASE("mset with a dangling key is refused", "[command][keys]") {
  CHECK_FALSE(keysOf({"mset", "a", "1", "b"}).ok);
  CHECK_FALSE(keysOf({"msetnx", "a"}).ok);
}

TEST_CASE("subcommand containers route by argv[2]", "[command][keys]") {
  const auto& object = *cmd::lookup("object");
  CHECK(object.firstKey == 2);
  CHECK(object.lastKey == 2);
  CHECK(keysOf({"object", "encoding", "k"}).indices == Idx{2});
  CHECK(keysOf({"memory", "usage", "k", "SAMPLES", "5"}).indices == Idx{2});
  CHECK(keysOf({"xgroup", "create", "s", "g", "$"}).indices == Idx{2});
  const KeysResult help = keysOf({"object", "help"});
  CHECK(help.ok);
  CHECK(help.indices.empty());
}

TEST_CASE("key indices from numkeys", "[command][keys]") {
  CHECK(keysOf({"eval", "return 1", "2", "a", "b", "x"}).indices == Idx{3, 4});
  CHECK(keysOf({"evalsha", "abc", "0", "x"}).ok);
  CHECK(keysOf({"evalsha", "abc", "0", "x"}).indices.empty());
  CHECK(keysOf({"fcall_ro", "f", "1", "k"}).indices == Idx{3});
  CHECK(keysOf({"zunion", "2", "a", "b", "WITHSCORES"}).indices == Idx{2, 3});
  CHECK(keysOf({"zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"}).indices ==
        Idx{1, 3, 4});
  CHECK(keysOf({"zdiffstore", "d", "1", "a"}).indices == Idx{1, 3});
  CHECK(keysOf({"lmpop", "2", "a", "b", "LEFT"}).indices == Idx{2, 3});
  CHECK(keysOf({"blmpop", "0", "2", "a", "b", "RIGHT"}).indices == Idx{3, 4});
  CHECK(keysOf({"bzmpop", "1.5", "1", "z", "MIN", "COUNT", "2"}).indices == Idx{3});
  CHECK(keysOf({"sintercard", "2", "a", "b", "LIMIT", "1"}).indices == Idx{2, 3});
}

TEST_CASE("malformed numkeys is refused", "[command][keys]") {
  CHECK_FALSE(keysOf({"eval", "s", "x"}).ok);          // not a number
  CHECK_FALSE(keysOf({"eval", "s", "-1"}).ok);         // negative
  CHECK_FALSE(keysOf({"eval", "s", "+1", "k"}).ok);    // signs are not digits
  CHECK_FALSE(keysOf({"eval", "s", "3", "a", "b"}).ok);  // more keys than arguments
  CHECK_FALSE(keysOf({"eval", "s", "99999999999999999999", "a"}).ok);
  CHECK_FALSE(keysOf({"eval", "s", ""}).ok);
  CHECK_FALSE(keysOf({"zunion", "0", "a"}).ok);        // zero only where Redis allows it
  CHECK_FALSE(keysOf({"lmpop", "2", "a"}).ok);
  CHECK_FALSE(keysOf({"blmpop", "0"}).ok);             // count argument missing
}

TEST_CASE("movable keys: SORT STORE and GEORADIUS STORE", "[command][keys]") {
  CHECK(keysOf({"sort", "k"}).indices == Idx{1});
  CHECK(keysOf({"sort", "k", "STORE", "d"}).indices == Idx{1, 3});
  CHECK(keysOf({"sort", "k", "BY", "store"}).indices == Idx{1});  // a pattern, not an option
  CHECK(keysOf({"sort", "k", "LIMIT", "0", "store"}).indices == Idx{1});
  CHECK(keysOf({"sort", "k", "store", "d", "STORE", "e"}).indices == Idx{1, 5});
  CHECK(keysOf({"sort_ro", "k", "GET", "*"}).indices == Idx{1});
  CHECK(keysOf({"georadius", "k", "1", "2", "3", "m"}).indices == Idx{1});
  CHECK(keysOf({"georadius", "k", "1", "2", "3", "m", "STORE", "d"}).indices == Idx{1, 7});
  CHECK(keysOf({"georadiusbymember", "k", "m", "3", "km", "storedist", "d"}).indices ==
        Idx{1, 6});
  CHECK(keysOf({"georadius_ro", "k", "1", "2", "3", "m", "STORE", "d"}).indices == Idx{1});
}

TEST_CASE("movable keys: XREAD/XREADGROUP STREAMS (Blocking)", "[command][keys]") {
  CHECK(keysOf({"xread", "STREAMS", "a", "b", "0", "0"}).indices == Idx{2, 3});
  CHECK(keysOf({"xread", "COUNT", "5", "BLOCK", "0", "streams", "a", "$"}).indices ==
        Idx{6});
  CHECK(keysOf({"xreadgroup", "GROUP", "streams", "c", "NOACK", "STREAMS", "s", ">"})
            .indices == Idx{6});
  CHECK_FALSE(keysOf({"xread", "STREAMS", "a", "b", "0"}).ok);  // odd tail: ids missing
  CHECK_FALSE(keysOf({"xread", "COUNT", "5", "a", "b"}).ok);    // no STREAMS
  CHECK_FALSE(keysOf({"xread", "STREAMS"}).ok);
}

TEST_CASE("movable keys: MIGRATE single key and KEYS form", "[command][keys]") {
  CHECK(keysOf({"migrate", "h", "6379", "k", "0", "1000"}).indices == Idx{3});
  CHECK(keysOf({"migrate", "h", "6379", "", "0", "1000", "AUTH", "keys", "KEYS", "a", "b"})
            .indices == Idx{9, 10});
  CHECK(keysOf({"migrate", "h", "6379", "", "0", "1000", "AUTH2", "u", "p", "KEYS", "a"})
            .indices == Idx{10});
  CHECK_FALSE(keysOf({"migrate", "h", "6379", "k", "0", "1000", "KEYS", "a"}).ok);
}
