// Full command coverage, part 3: what client libraries send on connect and answer locally
// (HELLO, CLIENT SETNAME/GETNAME/ID/SETINFO, SELECT, CONFIG GET, COMMAND COUNT/GETKEYS,
// INFO keyspace, TIME, ECHO, an empty inline line), streams by key (XADD, XRANGE, XREAD,
// XGROUP, XREADGROUP, XACK), and Redis's exact texts for unknown commands and wrong arity.
// Owns: nothing shared (each TEST_CASE builds its own ShardedCluster on free ports).
// Run by: ctest as "e2e: commands: ...".
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/integration/commands_e2e.h"
#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace cmdtest;
using namespace std::chrono_literals;

namespace {

// The value after `name` in a flat [k, v, k, v...] reply (HELLO's map in RESP2).
const Reply* mapValue(const Reply& map, const std::string& name) {
  for (size_t i = 0; i + 1 < map.elements.size(); i += 2) {
    if (map.elements[i].str == name) return &map.elements[i + 1];
  }
  return nullptr;
}

bool endsWithCrlf(const std::string& s) { return s.size() >= 2 && s.ends_with("\r\n"); }

}  // namespace

TEST_CASE("commands: connection handshakes are answered like Redis 7.0", "[commands][local]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();

  Reply hello = c.cmd({"HELLO", "2"});
  INFO("HELLO 2 replied " << hello);
  REQUIRE(hello.type == ReplyType::Array);
  CHECK(hello.elements.size() % 2 == 0);
  REQUIRE(mapValue(hello, "server") != nullptr);
  CHECK(*mapValue(hello, "server") == bulk("redis"));
  REQUIRE(mapValue(hello, "proto") != nullptr);
  CHECK(*mapValue(hello, "proto") == integer(2));
  REQUIRE(mapValue(hello, "id") != nullptr);
  CHECK(mapValue(hello, "id")->type == ReplyType::Integer);

  Reply hello3 = c.cmd({"HELLO", "3"});
  CHECK(hello3.type == ReplyType::Error);
  CHECK(hello3.str.rfind("NOPROTO", 0) == 0);

  CHECK(c.cmd({"CLIENT", "GETNAME"}) == nil());
  CHECK(c.cmd({"CLIENT", "SETNAME", "cov-client"}) == status("OK"));
  CHECK(c.cmd({"CLIENT", "GETNAME"}) == bulk("cov-client"));
  Reply id = c.cmd({"CLIENT", "ID"});
  CHECK(id.type == ReplyType::Integer);
  CHECK(id.integer > 0);
  CHECK(c.cmd({"CLIENT", "ID"}) == id);  // stable for the connection
  CHECK(c.cmd({"CLIENT", "SETINFO", "LIB-NAME", "hiredis-test"}) == status("OK"));
  CHECK(c.cmd({"CLIENT", "SETINFO", "LIB-VER", "0.14"}) == status("OK"));
  Client other = cluster.client();
  Reply otherId = other.cmd({"CLIENT", "ID"});
  CHECK(otherId.type == ReplyType::Integer);
  CHECK(otherId.integer != id.integer);

  CHECK(c.cmd({"SELECT", "0"}) == status("OK"));
  CHECK(c.cmd({"SELECT", "1"}).type == ReplyType::Error);

  CHECK(c.cmd({"CONFIG", "GET", "save"}) == array({bulk("save"), bulk("")}));
  CHECK(c.cmd({"CONFIG", "GET", "appendonly"}) == array({bulk("appendonly"), bulk("no")}));
  CHECK(c.cmd({"CONFIG", "GET", "databases"}) == array({bulk("databases"), bulk("1")}));

  Reply count = c.cmd({"COMMAND", "COUNT"});
  CHECK(count.type == ReplyType::Integer);
  CHECK(count.integer > 200);
  CHECK(c.cmd({"COMMAND", "GETKEYS", "SET", "k1", "v"}) == array({bulk("k1")}));
  CHECK(c.cmd({"COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"}) == array({bulk("a"), bulk("b")}));
  CHECK(c.cmd({"COMMAND", "GETKEYS", "EVAL", "return 1", "2", "x", "y", "arg"}) ==
        array({bulk("x"), bulk("y")}));

  Reply time = c.cmd({"TIME"});
  REQUIRE(time.type == ReplyType::Array);
  REQUIRE(time.elements.size() == 2);
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  CHECK(std::llabs(std::atoll(time.elements[0].str.c_str()) - now) <= 5);
  CHECK(std::atoll(time.elements[1].str.c_str()) < 1000000);

  CHECK(c.cmd({"ECHO", "hello"}) == bulk("hello"));
  CHECK(c.cmd({"PING"}) == status("PONG"));
}

TEST_CASE("commands: INFO keyspace reports the keys of all shards", "[commands][local]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  for (int i = 0; i < 30; ++i) REQUIRE(c.cmd({"SET", cat("ik:", i), "v"}) == status("OK"));
  long long total = 0;
  for (size_t s = 0; s < cluster.shardCount(); ++s) total += shardDbsize(cluster.shard(s));
  REQUIRE(total == 30);

  Reply info = c.cmd({"INFO", "keyspace"});
  REQUIRE(info.type == ReplyType::String);
  CHECK(info.str.find("# Keyspace") != std::string::npos);
  const size_t at = info.str.find("db0:keys=");
  if (at == std::string::npos) {
    FAIL_CHECK("INFO keyspace is not summed across shards: ringproxy's reply has no db0 line "
               "although the shards hold "
               << total << " keys; reply: " << info.describe());
  } else {
    CHECK(std::atoll(info.str.c_str() + at + 9) == total);
  }
}

TEST_CASE("commands: an empty inline line is ignored", "[commands][local]") {
  ShardedCluster cluster(suiteOptions());
  RawSocket raw(cluster.proxy().port());
  REQUIRE(raw.sendAll("\r\n"));
  REQUIRE(raw.sendAll("PING\r\n"));
  CHECK(raw.recvUntil(endsWithCrlf) == "+PONG\r\n");
  REQUIRE(raw.sendAll("\r\n\r\nECHO inline\r\n"));
  CHECK(raw.recvUntil([](const std::string& s) { return s.find("inline\r\n") != std::string::npos; }) ==
        "$6\r\ninline\r\n");
}

TEST_CASE("commands: streams work by key on every shard", "[commands][streams]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  std::vector<std::string> streams;
  for (size_t s = 0; s < cluster.shardCount(); ++s) {
    const std::string k = cluster.keyOnShard(s, "stream:");
    streams.push_back(k);
    INFO("stream " << k << " on s" << s + 1);
    const Reply e1 = array({bulk("1-1"), array({bulk("f"), bulk("v1")})});
    const Reply e2 = array({bulk("2-1"), array({bulk("f"), bulk("v2")})});
    CHECK(c.cmd({"XADD", k, "1-1", "f", "v1"}) == bulk("1-1"));
    CHECK(c.cmd({"XADD", k, "2-1", "f", "v2"}) == bulk("2-1"));
    Reply auto3 = c.cmd({"XADD", k, "*", "f", "v3"});
    CHECK(auto3.type == ReplyType::String);
    CHECK(auto3.str.find('-') != std::string::npos);
    CHECK(c.cmd({"XLEN", k}) == integer(3));
    CHECK(c.cmd({"XRANGE", k, "-", "+", "COUNT", "2"}) == array({e1, e2}));
    CHECK(c.cmd({"XREAD", "COUNT", "2", "STREAMS", k, "0"}) == array({array({bulk(k), array({e1, e2})})}));
    CHECK(c.cmd({"XGROUP", "CREATE", k, "g", "0"}) == status("OK"));
    CHECK(c.cmd({"XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", k, ">"}) ==
          array({array({bulk(k), array({e1, e2})})}));
    CHECK(c.cmd({"XACK", k, "g", "1-1", "2-1"}) == integer(2));
    Reply pending = c.cmd({"XPENDING", k, "g"});
    REQUIRE(pending.type == ReplyType::Array);
    CHECK(pending.elements.at(0) == integer(0));
    CHECK(cluster.shard(s).client().cmd({"XLEN", k}) == integer(3));
  }
  requirePlacement(cluster, streams);

  // XREAD of two streams: fine under one hash tag, CROSSSLOT across shards.
  CHECK(c.cmd({"XADD", "{st}a", "1-1", "f", "a"}) == bulk("1-1"));
  CHECK(c.cmd({"XADD", "{st}b", "1-1", "f", "b"}) == bulk("1-1"));
  Reply both = c.cmd({"XREAD", "STREAMS", "{st}a", "{st}b", "0", "0"});
  CHECK(both.type == ReplyType::Array);
  CHECK(both.elements.size() == 2);
  CHECK(c.cmd({"XREAD", "STREAMS", streams[0], streams[1], "0", "0"}) == errorReply(kCrossSlot));
}

TEST_CASE("commands: unknown commands and wrong arity get Redis's exact texts",
          "[commands][errors]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  CHECK(c.cmd({"foo", "a", "b"}) ==
        errorReply("ERR unknown command 'foo', with args beginning with: 'a' 'b' "));
  CHECK(c.cmd({"PING"}) == status("PONG"));
  CHECK(c.cmd({"foo"}) == errorReply("ERR unknown command 'foo', with args beginning with: "));
  CHECK(c.cmd({"GET"}) == errorReply("ERR wrong number of arguments for 'get' command"));
  CHECK(c.cmd({"set", "k"}) == errorReply("ERR wrong number of arguments for 'set' command"));
  CHECK(c.cmd({"SET", "err:k", "v"}) == status("OK"));
  CHECK(c.cmd({"GET", "err:k"}) == bulk("v"));
}
