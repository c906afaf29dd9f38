// Reload planning: what applies live, what is reported and kept.
#include <catch2/catch.hpp>

#include "config/config_diff.h"
#include "config/config_loader.h"

namespace {
config::ProxyConfig load(const std::string& extra, const std::string& shards) {
  auto r = config::loadConfigText("listen: 127.0.0.1:6380\n" + extra + "shards:\n" + shards);
  REQUIRE(r.errors.empty());
  return *r.config;
}
const std::string kTwo =
    "  - name: s1\n    address: 127.0.0.1:7001\n  - name: s2\n    address: 127.0.0.1:7002\n";
}  // namespace

TEST_CASE("reload: limits, commands and shard addresses apply live") {
  const auto running = load("", kTwo);
  const auto loaded = load("limits:\n  max_clients: 5\ncommands:\n  allow: [keys]\n",
                           "  - name: s1\n    address: 127.0.0.1:7101\n  - name: s2\n    address: 127.0.0.1:7002\n");
  const auto plan = config::planReload(running, loaded);
  CHECK(plan.notes.empty());
  CHECK_FALSE(plan.ringChanged);
  CHECK(plan.effective.limits.maxClients == 5);
  CHECK(plan.effective.commands.allow == std::vector<std::string>{"keys"});
  CHECK(plan.effective.shards[0].address.port == 7101);
}

TEST_CASE("reload: listen and threads are reported and kept") {
  const auto running = load("threads: 2\n", kTwo);
  auto loaded = load("threads: 4\n", kTwo);
  loaded.listen.port = 6390;
  const auto plan = config::planReload(running, loaded);
  REQUIRE(plan.notes.size() == 2);
  CHECK(plan.effective.listen.port == 6380);
  CHECK(plan.effective.threads == 2);
}

TEST_CASE("reload: a ring change is flagged and applied with the rest") {
  const auto running = load("", kTwo);
  const auto added = load("limits:\n  max_clients: 7\n",
                          kTwo + "  - name: s3\n    address: 127.0.0.1:7003\n");
  const auto plan = config::planReload(running, added);
  CHECK(plan.ringChanged);
  CHECK(plan.effective.shards.size() == 3);  // the coordinator moves the keys
  CHECK(plan.notes.empty());
  CHECK(plan.effective.limits.maxClients == 7);
  const auto moved = load("", "  - name: s1\n    address: 127.0.0.1:7101\n"
                              "  - name: s2\n    address: 127.0.0.1:7002\n");
  CHECK_FALSE(config::planReload(running, moved).ringChanged);  // keys follow names
  const auto reweighted = load("", "  - name: s1\n    address: 127.0.0.1:7001\n    weight: 2\n"
                                   "  - name: s2\n    address: 127.0.0.1:7002\n");
  CHECK(config::planReload(running, reweighted).ringChanged);
}

TEST_CASE("reload: cache, hot_keys and hot_key_replication apply live") {
  const auto running = load("", kTwo);
  const auto loaded = load(
      "cache:\n  enabled: true\n  max_memory: 1GiB\n  admit: all\n"
      "hot_keys:\n  top_k: 8\n  min_rate: 0.5\n  export_key_names: true\n"
      "hot_key_replication:\n  replicas: 1\n  ttl_ms: 5000\n",
      kTwo);
  const auto plan = config::planReload(running, loaded);
  CHECK(plan.notes.empty());
  CHECK_FALSE(plan.ringChanged);
  CHECK(plan.effective.cache.enabled);
  CHECK(plan.effective.cache.maxMemory == 1ull << 30);
  CHECK(plan.effective.cache.admit == config::CacheAdmit::All);
  CHECK(plan.effective.hotKeys.topK == 8);
  CHECK(plan.effective.hotKeys.minRate == 0.5);
  CHECK(plan.effective.hotKeys.exportKeyNames);
  CHECK(plan.effective.hotKeyReplication.replicas == 1);
  CHECK(plan.effective.hotKeyReplication.ttlMs == 5000);
}
