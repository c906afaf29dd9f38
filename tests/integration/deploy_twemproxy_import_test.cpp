// `ringproxy --from-twemproxy` end to end: a nutcracker.yml for 3 local redis-server shards
// (with server names s1..s3, and again without names) is converted by the real binary;
// nutcracker runs on the original file and ringproxy on the converted one (only its
// listen port and metrics port changed), over the same shards. 5,000 keys written through
// nutcracker must all read back through ringproxy, i.e. the import kept the ring.
// Run by ctest as "e2e: deploy: twemproxy ...".
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/deploy_tools.h"
#include "tests/support/net.h"
#include "tests/support/proxy.h"
#include "tests/support/redis_server.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace deploytest;
using namespace std::chrono_literals;

namespace {

constexpr int kKeys = 5000;
constexpr const char* kNutcracker = "/usr/sbin/nutcracker";

std::string nutcrackerYaml(uint16_t port, const std::vector<uint16_t>& shards, bool named) {
  // Options ringproxy drops on purpose are included so the warnings path runs too.
  std::string y = cat("legacy:\n  listen: 127.0.0.1:", port,
                      "\n  hash: murmur\n  hash_tag: \"{}\"\n  distribution: ketama\n"
                      "  redis: true\n  preconnect: true\n  auto_eject_hosts: false\n"
                      "  server_retry_timeout: 2000\n  timeout: 5000\n"
                      "  server_connections: 1\n  servers:\n");
  const uint32_t weights[] = {1, 1, 2};
  for (size_t i = 0; i < shards.size(); ++i) {
    y += cat("   - 127.0.0.1:", shards[i], ":", weights[i % 3]);
    y += named ? cat(" s", i + 1, "\n") : std::string("\n");
  }
  return y;
}

// Polls until `port` answers `probe` without an error, or `process` dies.
bool answers(Process& process, uint16_t port, const std::vector<std::string>& probe) {
  return waitUntil(
             [&] {
               if (!process.running()) return true;
               auto c = Client::tryConnect(port, 500ms);
               return c && !c->cmd(probe).isError();
             },
             10s) &&
         process.running();
}

struct ImportSetup {
  TempDir dir;
  std::vector<std::unique_ptr<RedisServer>> shards;
  std::unique_ptr<Process> nutcracker;
  std::unique_ptr<Process> ringproxy;
  uint16_t nutPort = 0;
  uint16_t rpPort = 0;
  std::string warnings;

  explicit ImportSetup(bool named) {
    std::vector<uint16_t> ports;
    for (int i = 1; i <= 3; ++i) {
      shards.push_back(std::make_unique<RedisServer>(dir, cat("s", i)));
      ports.push_back(shards.back()->port());
    }
    for (int attempt = 0; attempt < 3 && !ringproxy; ++attempt) start(ports, named);
    REQUIRE(ringproxy);
  }

  // One attempt with fresh ports (a lost port race kills a process at start-up).
  void start(const std::vector<uint16_t>& ports, bool named) {
    nutPort = pickFreePort();
    const std::string ncPath =
        dir.writeFile("nutcracker.yml", nutcrackerYaml(nutPort, ports, named));
    const std::string converted = dir.file("converted.yaml");
    RunResult conv = runShell(dir, shellQuote(ringproxyBinary()) + " --from-twemproxy " +
                                       shellQuote(ncPath) + " > " + shellQuote(converted));
    INFO("--from-twemproxy said:\n" << conv.output);
    REQUIRE(conv.exitCode == 0);
    warnings = conv.output;
    std::string yaml = readFile(converted);
    rpPort = pickFreePort();
    INFO("converted config:\n" << yaml);
    REQUIRE(replaceOnce(yaml, cat("listen: \"127.0.0.1:", nutPort, "\""),
                        cat("listen: \"127.0.0.1:", rpPort, "\"")));
    yaml += cat("threads: 2\nmetrics:\n  listen: 127.0.0.1:", pickFreePort(), "\n");
    const std::string rpConfig = dir.writeFile("ringproxy.yaml", yaml);

    nutcracker = std::make_unique<Process>(
        std::vector<std::string>{kNutcracker, "-c", ncPath, "-s", cat(pickFreePort()), "-a",
                                 "127.0.0.1", "-o", dir.file("nutcracker.log"), "-p",
                                 dir.file("nutcracker.pid")},
        dir.file("nutcracker.log"), /*dumpOnFailure=*/true);
    ringproxy =
        std::make_unique<Process>(std::vector<std::string>{ringproxyBinary(), "--config", rpConfig},
                                  dir.file("ringproxy.log"), /*dumpOnFailure=*/true);
    if (answers(*nutcracker, nutPort, {"GET", "__probe__"}) &&
        answers(*ringproxy, rpPort, {"PING"})) {
      return;
    }
    REQUIRE_FALSE((nutcracker->running() && ringproxy->running()));  // alive but deaf: a bug
    ringproxy.reset();
    nutcracker.reset();
  }
};

void importAndCompare(bool named) {
  ImportSetup s(named);
  INFO("converted config:\n" << readFile(s.dir.file("ringproxy.yaml")));
  CHECK(contains(s.warnings, "warning: pool 'legacy': auto_eject_hosts:"));
  CHECK(contains(s.warnings, "warning: pool 'legacy': server_retry_timeout:"));
  CHECK(contains(s.warnings, "warning: pool 'legacy': preconnect:"));

  Client nut(s.nutPort, 15000ms);
  for (int i = 0; i < kKeys; ++i)
    nut.append({"SET", cat("imp:", i, i % 7 == 0 ? ":{tag}" : ""), cat("v", i)});
  for (int i = 0; i < kKeys; ++i) REQUIRE(nut.getReply().isStatus("OK"));

  Client rp(s.rpPort, 15000ms);
  for (int i = 0; i < kKeys; ++i) rp.append({"GET", cat("imp:", i, i % 7 == 0 ? ":{tag}" : "")});
  int wrong = 0;
  for (int i = 0; i < kKeys; ++i) {
    Reply r = rp.getReply();
    if (r.isString(cat("v", i))) continue;
    if (++wrong <= 5) UNSCOPED_INFO("GET imp:" << i << " through ringproxy -> " << r);
  }
  CHECK(wrong == 0);
  // Every shard holds some keys: the ring really spread them (weights 1, 1, 2).
  for (auto& shard : s.shards) {
    Reply size = shard->client().cmd({"DBSIZE"});
    INFO(shard->name() << " DBSIZE " << size);
    CHECK(size.integer > kKeys / 10);
  }
}

}  // namespace

TEST_CASE("deploy: twemproxy pool with named servers imports key for key", "[deploy][twemproxy]") {
  importAndCompare(/*named=*/true);
}

TEST_CASE("deploy: twemproxy pool without server names imports key for key",
          "[deploy][twemproxy]") {
  importAndCompare(/*named=*/false);
}
