// Self-tests of the integration harness (tests/support) against the real redis-server and
// nutcracker only — no ringproxy — so a harness bug is never mistaken for a proxy bug.
// Owns: nothing shared. Run by: ctest as "e2e: harness: ...".
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/support/net.h"
#include "tests/support/nutcracker.h"
#include "tests/support/process.h"
#include "tests/support/redis_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace std::chrono_literals;

TEST_CASE("harness: TempDir creates a private directory and removes it", "[harness]") {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    dir.subdir("a/b");
    dir.writeFile("a/b/c.txt", "hello\n");
    CHECK(readFile(dir.file("a/b/c.txt")) == "hello\n");
  }
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) != 0);
}

TEST_CASE("harness: Process captures output and exit codes, stops by PID", "[harness]") {
  TempDir dir;
  SECTION("exit code and output") {
    RunResult r = runToCompletion({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"},
                                  dir.file("sh.log"), 5000ms);
    CHECK_FALSE(r.timedOut);
    CHECK(r.exitCode == 3);
    CHECK(r.output.find("out") != std::string::npos);
    CHECK(r.output.find("err") != std::string::npos);
  }
  SECTION("stop() terminates a running child, even a SIGSTOPped one") {
    Process p({"/bin/sleep", "30"}, dir.file("sleep.log"));
    REQUIRE(p.running());
    p.kill(SIGSTOP);
    CHECK(p.running());
    auto start = std::chrono::steady_clock::now();
    CHECK(p.stop() == 128 + SIGTERM);
    CHECK(elapsedMs(start) < 2000);
    CHECK_FALSE(p.running());
  }
  SECTION("stop() escalates to SIGKILL after the grace period") {
    Process p({"/bin/sh", "-c", "trap '' TERM; echo trapped; sleep 30"},
              dir.file("stubborn.log"));
    REQUIRE(waitUntil([&] { return p.log().find("trapped") != std::string::npos; }, 5000ms));
    CHECK(p.stop(300ms) == 128 + SIGKILL);
  }
  SECTION("a missing binary exits 127") {
    RunResult r = runToCompletion({"/nonexistent/binary"}, dir.file("missing.log"), 5000ms);
    CHECK(r.exitCode == 127);
  }
}

TEST_CASE("harness: pickFreePort never hands out the same port twice", "[harness]") {
  std::set<uint16_t> seen;
  for (int i = 0; i < 50; ++i) CHECK(seen.insert(pickFreePort()).second);
}

TEST_CASE("harness: RedisServer starts, pipelines, dies by SIGKILL and restarts", "[harness]") {
  TempDir dir;
  RedisServer redis(dir, "r1");
  Client c = redis.client();
  REQUIRE(c.cmd({"SET", "k", std::string("a\0b\r\n", 5)}).isStatus("OK"));
  CHECK(c.cmd({"GET", "k"}).isString(std::string("a\0b\r\n", 5)));
  CHECK(c.cmd({"CONFIG", "GET", "save"}).elements.at(1).isString(""));

  for (int i = 0; i < 2000; ++i) c.append({"INCR", "n"});
  for (int i = 0; i < 2000; ++i) REQUIRE(c.getReply().isInteger(i + 1));

  uint16_t port = redis.port();
  redis.kill(SIGKILL);
  CHECK(waitUntil([&] { return !redis.process().running(); }, 2000ms));
  CHECK_FALSE(Client::tryConnect(port, 200ms).has_value());
  CHECK(c.cmd({"PING"}).isError());

  redis.restart();
  CHECK(redis.port() == port);
  Client c2 = redis.client();
  CHECK(c2.cmd({"PING"}).isStatus("PONG"));
  CHECK(c2.cmd({"GET", "k"}).isNil());  // no persistence
}

TEST_CASE("harness: Nutcracker routes SET/GET to the redis shards", "[harness]") {
  TempDir dir;
  std::vector<std::unique_ptr<RedisServer>> shards;
  std::vector<NutcrackerServer> servers;
  for (int i = 1; i <= 3; ++i) {
    shards.push_back(std::make_unique<RedisServer>(dir, cat("s", i)));
    servers.push_back({cat("s", i), shards.back()->port(), 1});
  }
  Nutcracker nut(dir, servers, "fnv1a_64");
  Client c = nut.client();
  const int n = 300;
  for (int i = 0; i < n; ++i) c.append({"SET", cat("key:", i), cat("v", i)});
  for (int i = 0; i < n; ++i) REQUIRE(c.getReply().isStatus("OK"));
  for (int i = 0; i < n; ++i) {
    REQUIRE(c.cmd({"GET", cat("key:", i)}).isString(cat("v", i)));
  }
  long long total = 0;
  for (auto& s : shards) {
    Reply size = s->client().cmd({"DBSIZE"});
    REQUIRE(size.type == ReplyType::Integer);
    CHECK(size.integer > 0);  // ketama spreads 300 keys over all three
    total += size.integer;
  }
  CHECK(total == n);
}
