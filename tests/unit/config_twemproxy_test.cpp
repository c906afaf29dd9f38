// Tests of importTwemproxy(): nutcracker pool -> ringproxy YAML. Every converted config
// must load with loadConfigText(), keep nutcracker's ketama identities (server names,
// including the unnamed "host:port" and port-11211 forms), and report every option it
// cannot carry over. Run by ctest as "config: twemproxy: ...".
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "config/config_loader.h"
#include "config/twemproxy_import.h"

namespace {

const std::string kBeta =
    "beta:\n"
    "  listen: 127.0.0.1:22122\n"
    "  hash: murmur\n"
    "  hash_tag: \"{}\"\n"
    "  distribution: ketama\n"
    "  auto_eject_hosts: false\n"
    "  timeout: 400\n"
    "  redis: true\n"
    "  servers:\n"
    "   - 127.0.0.1:6380:1 server1\n"
    "   - 127.0.0.1:6381:2 server2\n"
    "   - 127.0.0.1:6382:1 server3\n";

config::ImportResult mustImport(const std::string& text, const std::string& pool = "") {
  config::ImportResult r = config::importTwemproxy(text, pool);
  for (const auto& e : r.errors) UNSCOPED_INFO("error: " << e);
  REQUIRE(r.ok());
  REQUIRE_FALSE(r.yaml.empty());
  return r;
}

config::ProxyConfig mustLoad(const std::string& yaml) {
  config::LoadResult loaded = config::loadConfigText(yaml);
  INFO(yaml);
  for (const auto& e : loaded.errors) UNSCOPED_INFO(e.str());
  REQUIRE(loaded.config.has_value());
  return *loaded.config;
}

bool anyContains(const std::vector<std::string>& lines, const std::string& part) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

// The only error of importing `pool` must mention `part`.
void expectError(const std::string& text, const std::string& part) {
  config::ImportResult r = config::importTwemproxy(text, "");
  INFO("yaml:\n" << text);
  for (const auto& e : r.errors) UNSCOPED_INFO("error: " << e);
  CHECK_FALSE(r.ok());
  CHECK(r.yaml.empty());
  CHECK(anyContains(r.errors, part));
}

std::string redisPool(const std::string& extra, const std::string& servers) {
  return "p:\n  listen: 127.0.0.1:22121\n  redis: true\n  timeout: 100\n" + extra + "  servers:\n" +
         servers;
}

// A two-server pool with auto_eject_hosts: true and the two settings it maps.
config::ImportResult ejectingPool(const std::string& retryTimeout, const std::string& failureLimit) {
  return mustImport(redisPool("  auto_eject_hosts: true\n  server_retry_timeout: " + retryTimeout +
                                  "\n  server_failure_limit: " + failureLimit + "\n",
                              "   - 127.0.0.1:7001:1 a\n   - 127.0.0.1:7002:1 b\n"));
}

}  // namespace

TEST_CASE("twemproxy: a named ketama pool converts field for field", "[config][twemproxy]") {
  config::ImportResult r = mustImport(kBeta);
  config::ProxyConfig cfg = mustLoad(r.yaml);
  CHECK(cfg.listen.str() == "127.0.0.1:22122");
  CHECK(cfg.ring.distribution == routing::Distribution::Ketama);
  CHECK(cfg.ring.hash == routing::HashKind::Murmur);
  CHECK(cfg.ring.hashTag == "{}");
  CHECK(cfg.backend.timeoutMs == 400);
  CHECK(cfg.backend.connectTimeoutMs == 400);
  REQUIRE(cfg.shards.size() == 3);
  CHECK(cfg.shards[0].name == "server1");
  CHECK(cfg.shards[0].address.str() == "127.0.0.1:6380");
  CHECK(cfg.shards[1].name == "server2");
  CHECK(cfg.shards[1].weight == 2);
  CHECK(cfg.shards[2].address.str() == "127.0.0.1:6382");
  // auto_eject_hosts: false is harmless but still listed.
  CHECK(anyContains(r.warnings, "auto_eject_hosts"));
}

TEST_CASE("twemproxy: unnamed servers are named exactly as nutcracker hashes them",
          "[config][twemproxy]") {
  config::ImportResult r = mustImport(redisPool("",
                                                "   - 10.0.0.1:6379:1\n"
                                                "   - redis-b.example:7000:3\n"
                                                "   - 10.0.0.3:11211:1\n"
                                                "   - 10.0.0.4:06379:1\n"));
  config::ProxyConfig cfg = mustLoad(r.yaml);
  REQUIRE(cfg.shards.size() == 4);
  CHECK(cfg.shards[0].name == "10.0.0.1:6379");
  CHECK(cfg.shards[1].name == "redis-b.example:7000");
  CHECK(cfg.shards[1].weight == 3);
  // libmemcached compatibility: port 11211 is left out of the ketama name.
  CHECK(cfg.shards[2].name == "10.0.0.3");
  CHECK(cfg.shards[2].address.str() == "10.0.0.3:11211");
  // The name is the text as written, not the parsed port.
  CHECK(cfg.shards[3].name == "10.0.0.4:06379");
  CHECK(cfg.shards[3].address.str() == "10.0.0.4:6379");
}

TEST_CASE("twemproxy: defaults are nutcracker's, not ringproxy's", "[config][twemproxy]") {
  config::ImportResult r = mustImport(
      "only:\n  listen: 0.0.0.0:22121\n  redis: true\n  servers:\n   - 127.0.0.1:7001:1\n");
  config::ProxyConfig cfg = mustLoad(r.yaml);
  CHECK(cfg.listen.str() == "0.0.0.0:22121");
  CHECK(cfg.ring.distribution == routing::Distribution::Ketama);
  CHECK(cfg.ring.hash == routing::HashKind::Fnv1a64);
  CHECK(cfg.ring.hashTag.empty());  // nutcracker has no hash tag unless configured
  CHECK(anyContains(r.warnings, "timeout: not set"));
}

TEST_CASE("twemproxy: mapped options land in the right ringproxy fields", "[config][twemproxy]") {
  config::ImportResult r =
      mustImport(redisPool("  server_connections: 4\n"
                           "  client_connections: 500\n"
                           "  hash_tag: \"$$\"\n",
                           "   - 127.0.0.1:7001:1 a\n"));
  config::ProxyConfig cfg = mustLoad(r.yaml);
  CHECK(cfg.backend.connections == 4);
  CHECK(cfg.limits.maxClients == 500);
  CHECK(cfg.ring.hashTag == "$$");
  CHECK(cfg.backend.timeoutMs == 100);
  CHECK(anyContains(r.warnings, "server_connections"));
}

TEST_CASE("twemproxy: every option ringproxy cannot honour is listed", "[config][twemproxy]") {
  config::ImportResult r =
      mustImport(redisPool("  auto_eject_hosts: false\n"
                           "  server_retry_timeout: 2000\n"
                           "  server_failure_limit: 1\n"
                           "  redis_auth: secret\n"
                           "  preconnect: true\n"
                           "  backlog: 1024\n"
                           "  tcpkeepalive: true\n"
                           "  redis_db: 0\n",
                           "   - 127.0.0.1:7001:1 a\n"));
  for (const char* key : {"auto_eject_hosts", "server_retry_timeout", "server_failure_limit",
                          "redis_auth", "preconnect", "backlog", "tcpkeepalive", "redis_db"}) {
    INFO(key);
    CHECK(anyContains(r.warnings, std::string("pool 'p': ") + key + ":"));
  }
  // Without auto_eject_hosts: true its two settings have nothing to apply to.
  CHECK(anyContains(r.warnings, "server_retry_timeout: only matters with auto_eject_hosts: true (dropped)"));
  CHECK(anyContains(r.warnings, "server_failure_limit: only matters with auto_eject_hosts: true (dropped)"));
  // A secret must never be echoed into the generated file.
  CHECK(r.yaml.find("secret") == std::string::npos);
  const config::ProxyConfig cfg = mustLoad(r.yaml);
  CHECK_FALSE(cfg.backend.autoEject.enabled);
  CHECK(cfg.cluster.enabled);
}

TEST_CASE("twemproxy: auto_eject_hosts maps to backend.auto_eject with its two settings",
          "[config][twemproxy]") {
  config::ImportResult r = ejectingPool("2000", "3");
  config::ProxyConfig cfg = mustLoad(r.yaml);
  CHECK(cfg.backend.autoEject.enabled);
  CHECK(cfg.backend.autoEject.failureLimit == 3);
  CHECK(cfg.backend.autoEject.retryMs == 2000);
  CHECK(cfg.backend.autoEject.probeIntervalMs == 500);  // ringproxy's own setting, default
  CHECK_FALSE(cfg.cluster.enabled);  // auto_eject needs it off; nutcracker has no membership
  CHECK(cfg.backend.timeoutMs == 100);  // the rest of backend is still there
  CHECK(anyContains(r.warnings, "pool 'p': auto_eject_hosts: mapped to backend.auto_eject"));
  CHECK(anyContains(r.warnings, "data loss for a store"));
  CHECK_FALSE(anyContains(r.warnings, "server_retry_timeout"));  // mapped as is: nothing to say
  CHECK_FALSE(anyContains(r.warnings, "server_failure_limit"));

  // Unset, they take nutcracker's defaults (2 failures, 30 s), not ringproxy's.
  cfg = mustLoad(mustImport(redisPool("  auto_eject_hosts: true\n", "   - 127.0.0.1:7001:1 a\n")).yaml);
  CHECK(cfg.backend.autoEject.enabled);
  CHECK(cfg.backend.autoEject.failureLimit == 2);
  CHECK(cfg.backend.autoEject.retryMs == 30000);

  // The order of the keys does not matter.
  cfg = mustLoad(mustImport(redisPool("  server_failure_limit: 5\n  auto_eject_hosts: true\n",
                                      "   - 127.0.0.1:7001:1 a\n"))
                     .yaml);
  CHECK(cfg.backend.autoEject.failureLimit == 5);
}

TEST_CASE("twemproxy: auto_eject settings outside ringproxy's ranges are clamped, with a warning",
          "[config][twemproxy]") {
  config::ImportResult r = ejectingPool("10", "0");
  config::ProxyConfig cfg = mustLoad(r.yaml);
  CHECK(cfg.backend.autoEject.failureLimit == 1);
  CHECK(cfg.backend.autoEject.retryMs == 100);
  CHECK(anyContains(r.warnings, "server_failure_limit: 0 is outside backend.auto_eject.failure_limit's range "
                                "(1..100); 1 is used"));
  CHECK(anyContains(r.warnings, "server_retry_timeout: 10 is outside backend.auto_eject.retry_ms's range "
                                "(100..3600000); 100 is used"));
  cfg = mustLoad(ejectingPool("7200000", "1000").yaml);
  CHECK(cfg.backend.autoEject.failureLimit == 100);
  CHECK(cfg.backend.autoEject.retryMs == 3600000);
}

TEST_CASE("twemproxy: --pool picks a pool, else the first one with a warning",
          "[config][twemproxy]") {
  const std::string two = kBeta + redisPool("", "   - 127.0.0.1:7001:1 a\n");
  config::ImportResult first = mustImport(two);
  CHECK(mustLoad(first.yaml).listen.port == 22122);
  CHECK(anyContains(first.warnings, "2 pools"));
  config::ImportResult chosen = mustImport(two, "p");
  CHECK(mustLoad(chosen.yaml).shards.at(0).name == "a");
  CHECK_FALSE(anyContains(chosen.warnings, "2 pools"));
  config::ImportResult missing = config::importTwemproxy(two, "gamma");
  CHECK_FALSE(missing.ok());
  CHECK(anyContains(missing.errors, "no pool named 'gamma'"));
}

TEST_CASE("twemproxy: IPv6 hosts are bracketed for ringproxy", "[config][twemproxy]") {
  config::ImportResult r = mustImport(
      "v6:\n  listen: ::1:22121\n  redis: true\n  timeout: 50\n  servers:\n"
      "   - ::1:7001:1\n");
  config::ProxyConfig cfg = mustLoad(r.yaml);
  CHECK(cfg.listen.str() == "[::1]:22121");
  CHECK(cfg.shards.at(0).address.str() == "[::1]:7001");
  CHECK(cfg.shards.at(0).name == "::1:7001");
}

TEST_CASE("twemproxy: odd names are quoted and survive the round trip", "[config][twemproxy]") {
  config::ImportResult r = mustImport(redisPool("", "   - 127.0.0.1:7001:1 x\"y\\z:{}#\n"));
  CHECK(mustLoad(r.yaml).shards.at(0).name == "x\"y\\z:{}#");
}

TEST_CASE("twemproxy: what would move keys or cannot work is an error", "[config][twemproxy]") {
  struct Case {
    std::string text;
    std::string part;
  };
  const Case c = GENERATE(
      Case{redisPool("  distribution: modula\n", "   - 127.0.0.1:7001:1\n"), "modula"},
      Case{redisPool("  distribution: random\n", "   - 127.0.0.1:7001:1\n"), "random"},
      Case{redisPool("  hash: sha1\n", "   - 127.0.0.1:7001:1\n"), "hash: 'sha1'"},
      Case{redisPool("  hash_tag: \"{\"\n", "   - 127.0.0.1:7001:1\n"), "hash_tag"},
      Case{redisPool("  hash_tag: {}\n", "   - 127.0.0.1:7001:1\n"), "quote"},
      Case{redisPool("  redis_db: 3\n", "   - 127.0.0.1:7001:1\n"), "redis_db"},
      Case{redisPool("  frobnicate: 1\n", "   - 127.0.0.1:7001:1\n"), "frobnicate"},
      Case{redisPool("  timeout: 10\n", "   - 127.0.0.1:7001:1\n"), "duplicate"},
      Case{redisPool("", "   - 127.0.0.1:7001\n"), "host:port:weight"},
      Case{redisPool("", "   - 127.0.0.1:7001:0\n"), "weight must be > 0"},
      Case{redisPool("", "   - 127.0.0.1:7001:100000\n"), "65535"},
      Case{redisPool("", "   - 127.0.0.1:99999:1\n"), "invalid port"},
      Case{redisPool("", "   - /tmp/redis.sock:1\n"), "unix socket"},
      Case{redisPool("", "   - 127.0.0.1:7001:1 a\n   - 127.0.0.1:7002:1 a\n"),
           "duplicate name 'a'"},
      Case{redisPool("", "   - 127.0.0.1:7001:1 a\n   - 127.0.0.1:7001:1 b\n"),
           "duplicate address"},
      Case{"p:\n  listen: /tmp/nc.sock 0666\n  redis: true\n  servers:\n   - 1.2.3.4:1:1\n",
           "unix socket"},
      Case{"p:\n  listen: 127.0.0.1:1\n  servers:\n   - 1.2.3.4:1:1\n", "memcached"},
      Case{"p:\n  listen: 127.0.0.1:1\n  redis: false\n  servers:\n   - 1.2.3.4:1:1\n",
           "memcached"},
      Case{"p:\n  redis: true\n  servers:\n   - 1.2.3.4:1:1\n", "listen: missing"},
      Case{"p:\n  listen: 127.0.0.1:1\n  redis: true\n", "servers: missing"},
      Case{"p:\n  listen: 127.0.0.1:1\n  redis: yes\n  servers:\n   - 1.2.3.4:1:1\n",
           "\"true\" or \"false\""},
      Case{"- just a list\n", "mapping of pool names"}, Case{"p: [unclosed\n", "invalid YAML"});
  expectError(c.text, c.part);
}

// nutcracker's conf/nutcracker.yml: each pool converts or is refused with a reason.
TEST_CASE("twemproxy: nutcracker's own example pools", "[config][twemproxy]") {
  // conf/nutcracker.yml from twemproxy 0.5.0: only alpha and beta speak Redis.
  const std::string example =
      "alpha:\n  listen: 127.0.0.1:22121\n  hash: fnv1a_64\n  distribution: ketama\n"
      "  auto_eject_hosts: true\n  redis: true\n  server_retry_timeout: 2000\n"
      "  server_failure_limit: 1\n  servers:\n   - 127.0.0.1:6379:1\n"
      "gamma:\n  listen: 127.0.0.1:22123\n  hash: fnv1a_64\n  distribution: ketama\n"
      "  timeout: 400\n  backlog: 1024\n  preconnect: true\n  auto_eject_hosts: true\n"
      "  server_retry_timeout: 2000\n  server_failure_limit: 3\n  servers:\n"
      "   - 127.0.0.1:11212:1\n   - 127.0.0.1:11213:1\n";
  config::ImportResult alpha = mustImport(example, "alpha");
  const config::ProxyConfig cfg = mustLoad(alpha.yaml);
  CHECK(cfg.shards.at(0).name == "127.0.0.1:6379");
  CHECK(cfg.backend.autoEject.enabled);
  CHECK(cfg.backend.autoEject.failureLimit == 1);
  CHECK(cfg.backend.autoEject.retryMs == 2000);
  config::ImportResult gamma = config::importTwemproxy(example, "gamma");
  CHECK_FALSE(gamma.ok());
  CHECK(anyContains(gamma.errors, "memcached"));
}
