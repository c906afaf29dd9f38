// End-to-end live reload: the running proxy picks up an edited config file (in place, or
// written elsewhere and renamed over it) and SIGHUP; a bad file is rejected whole and the
// running config keeps serving; a shard's new address applies without a restart.
// Owns: nothing shared; each TEST_CASE starts its own shards and proxy on free ports.
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/cluster.h"
#include "tests/support/net.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

std::string fileText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` next to `path` and renames it over, as editors do.
void replaceFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << text;
  REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0);
}

double metric(Proxy& p, const std::string& series) {
  const std::string body = httpGet(p.metricsPort(), "/metrics").body;
  const size_t at = body.find(series + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 1));
}

}  // namespace

TEST_CASE("reload: an edited file applies live and a bad one is rejected whole", "[reload]") {
  ShardedCluster cluster({}, 3);
  Proxy& proxy = cluster.proxy();
  Client c = cluster.client();
  const std::string original = fileText(proxy.configPath());
  REQUIRE(c.cmd({"KEYS", "*"}).type == ReplyType::Error);  // denied by default

  std::ofstream(proxy.configPath(), std::ios::app) << "commands:\n  allow: [keys]\n";
  CHECK(waitUntil([&] { return c.cmd({"KEYS", "*"}).type == ReplyType::Array; }, 10s));
  CHECK(metric(proxy, "ringproxy_config_reloads_total{result=\"success\"}") >= 1);

  // A file with an error is rejected as a whole: KEYS stays allowed, the failure is counted.
  replaceFile(proxy.configPath(), original + "commands:\n  allow: [keys]\nbogus_key: 1\n");
  CHECK(waitUntil([&] { return metric(proxy, "ringproxy_config_reloads_total{result=\"failure\"}") == 1; }, 10s));
  CHECK(c.cmd({"KEYS", "*"}).type == ReplyType::Array);
  CHECK(proxy.log().find("bogus_key: unknown key") != std::string::npos);

  // SIGHUP reloads too: back to the original file, KEYS is denied again.
  replaceFile(proxy.configPath(), original);
  CHECK(waitUntil([&] { return c.cmd({"KEYS", "*"}).type == ReplyType::Error; }, 10s));
  const double before = metric(proxy, "ringproxy_config_reloads_total{result=\"success\"}");
  proxy.process().kill(SIGHUP);
  CHECK(waitUntil([&] { return metric(proxy, "ringproxy_config_reloads_total{result=\"success\"}") > before; }, 10s));
}

TEST_CASE("reload: a shard's new address applies without a restart and a ring change starts a migration",
          "[reload]") {
  ShardedCluster cluster({}, 2);
  Proxy& proxy = cluster.proxy();
  Client c = cluster.client();
  REQUIRE(c.cmd({"SET", "{k}1", "v"}) == status("OK"));
  const uint32_t owner = cluster.ownerOf("{k}1");
  // A replacement server for that shard, holding its data.
  RedisServer replacement(cluster.dir(), "replacement");
  Client moved(replacement.port());
  REQUIRE(moved.cmd({"SET", "{k}1", "on-the-new-server"}) == status("OK"));
  std::string text = fileText(proxy.configPath());
  const std::string oldAddress = "127.0.0.1:" + std::to_string(cluster.shard(owner).port());
  const std::string newAddress = "127.0.0.1:" + std::to_string(replacement.port());
  text.replace(text.find(oldAddress), oldAddress.size(), newAddress);
  replaceFile(proxy.configPath(), text);
  CHECK(waitUntil([&] { return c.cmd({"GET", "{k}1"}) == bulk("on-the-new-server"); }, 10s));

  // Adding a shard moves keys: a migration is planned (the migration tests cover the rest).
  replaceFile(proxy.configPath(), text + "  - name: extra\n    address: 127.0.0.1:1\n");
  CHECK(waitUntil([&] { return proxy.log().find("migration planned") != std::string::npos; }, 10s));
}
