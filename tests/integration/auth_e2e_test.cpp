// End-to-end client and backend authentication: a real ringproxy requiring AUTH in front
// of a real redis-server with requirepass, driven by hiredis.
// Owns: nothing shared; each TEST_CASE starts its own shard and proxy on free ports.
#include <catch2/catch.hpp>
#include <string>

#include "tests/support/net.h"
#include "tests/support/proxy.h"
#include "tests/support/redis_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

using namespace testsupport;

namespace {

const std::string kNoAuth = "NOAUTH Authentication required.";
const std::string kWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

// One shard protected by `shardPassword`, behind a proxy whose clients must authenticate.
struct AuthSetup {
  TempDir dir;
  RedisServer shard{dir, "s1"};
  std::unique_ptr<Proxy> proxy;

  explicit AuthSetup(const std::string& shardPassword, const std::string& proxyPasswordForShard) {
    Client direct(shard.port());
    REQUIRE(direct.cmd({"CONFIG", "SET", "requirepass", shardPassword}) == status("OK"));
    ProxyOptions opts;
    opts.metrics = false;
    opts.threads = 1;
    opts.shards.push_back({"s1", "127.0.0.1:" + std::to_string(shard.port()), 1, proxyPasswordForShard});
    opts.extraYaml = "auth:\n  requirepass: proxypw\n  users:\n    - name: app\n      password: apppw\n";
    proxy = std::make_unique<Proxy>(dir, opts);
  }
};

}  // namespace

TEST_CASE("auth: clients must authenticate and the proxy authenticates to the shard", "[auth]") {
  AuthSetup s("shardpw", "shardpw");
  Client c(s.proxy->port());
  CHECK(c.cmd({"GET", "k"}) == errorReply(kNoAuth));
  CHECK(c.cmd({"PING"}) == errorReply(kNoAuth));
  CHECK(c.cmd({"AUTH", "nope"}) == errorReply(kWrongPass));
  CHECK(c.cmd({"AUTH", "app", "nope"}) == errorReply(kWrongPass));
  CHECK(c.cmd({"AUTH", "proxypw"}) == status("OK"));
  CHECK(c.cmd({"SET", "k", "v"}) == status("OK"));

  Client user(s.proxy->port());
  CHECK(user.cmd({"AUTH", "app", "apppw"}) == status("OK"));
  CHECK(user.cmd({"GET", "k"}) == bulk("v"));

  Client def(s.proxy->port());
  CHECK(def.cmd({"AUTH", "default", "proxypw"}) == status("OK"));
  CHECK(def.cmd({"GET", "k"}) == bulk("v"));

  // The value really reached the password-protected shard.
  Client direct(s.shard.port());
  REQUIRE(direct.cmd({"AUTH", "shardpw"}) == status("OK"));
  CHECK(direct.cmd({"GET", "k"}) == bulk("v"));
}

TEST_CASE("auth: HELLO with AUTH authenticates and HELLO without it is refused", "[auth]") {
  AuthSetup s("shardpw", "shardpw");
  Client c(s.proxy->port());
  const Reply refused = c.cmd({"HELLO", "2"});
  REQUIRE(refused.type == ReplyType::Error);
  CHECK(refused.str.rfind("NOAUTH HELLO must be called", 0) == 0);
  CHECK(c.cmd({"HELLO", "2", "AUTH", "app", "wrong"}) == errorReply(kWrongPass));
  const Reply hello = c.cmd({"HELLO", "2", "AUTH", "app", "apppw"});
  REQUIRE(hello.type == ReplyType::Array);
  CHECK(c.cmd({"PING"}) == status("PONG"));
}

TEST_CASE("auth: unauthenticated clients get Redis's tighter protocol limits", "[auth]") {
  AuthSetup s("shardpw", "shardpw");
  RawSocket raw(s.proxy->port());
  REQUIRE(raw.sendAll("*2\r\n$4\r\nECHO\r\n$20000\r\n" + std::string(20000, 'x') + "\r\n"));
  const std::string reply = raw.recvUntil([](const std::string& got) { return got.find("\r\n") != std::string::npos; });
  CHECK(reply == "-ERR Protocol error: unauthenticated bulk length\r\n");
}

TEST_CASE("auth: a wrong backend password makes the shard's requests fail, not hang", "[auth]") {
  AuthSetup s("shardpw", "wrongpw");
  Client c(s.proxy->port());
  REQUIRE(c.cmd({"AUTH", "proxypw"}) == status("OK"));
  const Reply r = c.cmd({"GET", "k"});
  REQUIRE(r.type == ReplyType::Error);
  CHECK(r.str.find("shard 's1'") != std::string::npos);
  CHECK(s.proxy->log().find("wrongpw") == std::string::npos);  // secrets never logged
  CHECK(s.proxy->log().find("AUTH refused") != std::string::npos);
}
