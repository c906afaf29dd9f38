// Tests of loading valid configs: the shipped example, defaults, every ring option,
// file handling and ringShards(). Error reporting lives in config_errors_test.cpp.
#include <catch2/catch.hpp>

#include <string>

#include "config/config_loader.h"

namespace {

const std::string kMinimal =
    "shards:\n"
    "  - name: s1\n"
    "    address: 127.0.0.1:7001\n";

config::ProxyConfig mustLoad(const std::string& text) {
  config::LoadResult result = config::loadConfigText(text);
  for (const config::ConfigError& e : result.errors) UNSCOPED_INFO(e.str());
  REQUIRE(result.errors.empty());
  REQUIRE(result.config.has_value());
  return *result.config;
}

// Every field of the cache, hot_keys and hot_key_replication sections.
void checkCaching(const config::ProxyConfig& cfg, const config::CacheConfig& cache,
                  const config::HotKeysConfig& hotKeys,
                  const config::HotKeyReplicationConfig& replication) {
  CHECK(cfg.cache.enabled == cache.enabled);
  CHECK(cfg.cache.maxMemory == cache.maxMemory);
  CHECK(cfg.cache.maxValueBytes == cache.maxValueBytes);
  CHECK(cfg.cache.maxTtlMs == cache.maxTtlMs);
  CHECK(cfg.cache.admit == cache.admit);
  CHECK(cfg.hotKeys.windowMs == hotKeys.windowMs);
  CHECK(cfg.hotKeys.topK == hotKeys.topK);
  CHECK(cfg.hotKeys.minRate == hotKeys.minRate);
  CHECK(cfg.hotKeys.exportKeyNames == hotKeys.exportKeyNames);
  CHECK(cfg.hotKeyReplication.replicas == replication.replicas);
  CHECK(cfg.hotKeyReplication.ttlMs == replication.ttlMs);
}

}  // namespace

TEST_CASE("the example deploy/ringproxy.yaml loads", "[config]") {
  const std::string path = std::string(RP_SOURCE_DIR) + "/deploy/ringproxy.yaml";
  config::LoadResult result = config::loadConfigFile(path);
  for (const config::ConfigError& e : result.errors) UNSCOPED_INFO(e.str());
  REQUIRE(result.errors.empty());
  REQUIRE(result.config.has_value());
  const config::ProxyConfig& cfg = *result.config;
  CHECK(cfg.sourcePath == path);
  CHECK(cfg.listen.str() == "127.0.0.1:6380");
  CHECK(cfg.metrics.enabled);
  CHECK(cfg.metrics.listen.str() == "127.0.0.1:9121");
  REQUIRE(cfg.shards.size() == 3);
  const char* names[] = {"s1", "s2", "s3"};
  const char* addresses[] = {"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"};
  for (size_t i = 0; i < 3; ++i) {
    CHECK(cfg.shards[i].name == names[i]);
    CHECK(cfg.shards[i].address.str() == addresses[i]);
    CHECK(cfg.shards[i].weight == 1);
  }
}

TEST_CASE("the example states every default explicitly", "[config]") {
  // The example documents the defaults; if they drift apart, one of them is lying.
  config::LoadResult example =
      config::loadConfigFile(std::string(RP_SOURCE_DIR) + "/deploy/ringproxy.yaml");
  REQUIRE(example.config.has_value());
  const config::ProxyConfig defaults;
  const config::ProxyConfig& cfg = *example.config;
  CHECK(cfg.threads == defaults.threads);
  CHECK(cfg.logLevel == defaults.logLevel);
  CHECK(cfg.ring.distribution == defaults.ring.distribution);
  CHECK(cfg.ring.hash == defaults.ring.hash);
  CHECK(cfg.ring.hashTag == defaults.ring.hashTag);
  CHECK(cfg.ring.vnodesPerWeight == defaults.ring.vnodesPerWeight);
  CHECK(cfg.backend.connections == defaults.backend.connections);
  CHECK(cfg.backend.connectTimeoutMs == defaults.backend.connectTimeoutMs);
  CHECK(cfg.backend.timeoutMs == defaults.backend.timeoutMs);
  CHECK(cfg.backend.maxPending == defaults.backend.maxPending);
  CHECK(cfg.backend.maxBufferBytes == defaults.backend.maxBufferBytes);
  CHECK(cfg.limits.maxClients == defaults.limits.maxClients);
  CHECK(cfg.limits.clientMaxPending == defaults.limits.clientMaxPending);
  CHECK(cfg.limits.clientMaxOutputBytes == defaults.limits.clientMaxOutputBytes);
  CHECK(cfg.limits.maxBulkBytes == defaults.limits.maxBulkBytes);
  CHECK(cfg.limits.maxArgs == defaults.limits.maxArgs);
  CHECK(cfg.limits.maxRequestBytes == defaults.limits.maxRequestBytes);
  checkCaching(cfg, defaults.cache, defaults.hotKeys, defaults.hotKeyReplication);
}

TEST_CASE("a minimal config gets every default", "[config]") {
  const config::ProxyConfig cfg = mustLoad(kMinimal);
  CHECK(cfg.listen.host == "127.0.0.1");
  CHECK(cfg.listen.port == 6380);
  CHECK(cfg.threads == 0);
  CHECK(cfg.logLevel == "info");
  CHECK(cfg.metrics.enabled);
  CHECK(cfg.metrics.listen.str() == "127.0.0.1:9121");
  CHECK(cfg.ring.distribution == routing::Distribution::Vnodes);
  CHECK(cfg.ring.hash == routing::HashKind::Fnv1a64);
  CHECK(cfg.ring.hashTag == "{}");
  CHECK(cfg.ring.vnodesPerWeight == 1024);
  CHECK(cfg.backend.connections == 1);
  CHECK(cfg.backend.connectTimeoutMs == 1000);
  CHECK(cfg.backend.timeoutMs == 2000);
  CHECK(cfg.backend.maxPending == 65536);
  CHECK(cfg.backend.maxBufferBytes == 64ull << 20);
  CHECK(cfg.limits.maxClients == 10000);
  CHECK(cfg.limits.clientMaxPending == 1024);
  CHECK(cfg.limits.clientMaxOutputBytes == 64ull << 20);
  CHECK(cfg.limits.maxBulkBytes == 512ull << 20);
  CHECK(cfg.limits.maxArgs == 1048576);
  CHECK(cfg.limits.maxRequestBytes == 1ull << 30);
  checkCaching(cfg, {false, 256ull << 20, 64ull << 10, 60000, config::CacheAdmit::Hot},
               {1000, 64, 1000.0, false}, {0, 30000});
  CHECK(cfg.sourcePath.empty());
  REQUIRE(cfg.shards.size() == 1);
  CHECK(cfg.shards[0].name == "s1");
  CHECK(cfg.shards[0].weight == 1);
}

TEST_CASE("empty sections mean defaults", "[config]") {
  const config::ProxyConfig cfg = mustLoad("metrics:\nring:\nbackend:\nlimits:\n" + kMinimal);
  CHECK(cfg.metrics.enabled);
  CHECK(cfg.ring.vnodesPerWeight == 1024);
  const config::ProxyConfig defaults;
  checkCaching(mustLoad("cache:\nhot_keys:\nhot_key_replication:\n" + kMinimal), defaults.cache,
               defaults.hotKeys, defaults.hotKeyReplication);
}

TEST_CASE("the cache, hot_keys and hot_key_replication sections are read", "[config]") {
  const config::ProxyConfig cfg = mustLoad(
      "cache:\n"
      "  enabled: true\n"
      "  max_memory: 1GiB\n"
      "  max_value_bytes: 1 MiB\n"
      "  max_ttl_ms: 5000\n"
      "  admit: all\n"
      "hot_keys:\n"
      "  window_ms: 250\n"
      "  top_k: 16\n"
      "  min_rate: 2.5\n"
      "  export_key_names: yes\n"
      "hot_key_replication:\n"
      "  replicas: 2\n"
      "  ttl_ms: 1000\n"
      "shards:\n"
      "  - {name: s1, address: 127.0.0.1:7001}\n"
      "  - {name: s2, address: 127.0.0.1:7002}\n"
      "  - {name: s3, address: 127.0.0.1:7003}\n");
  checkCaching(cfg, {true, 1ull << 30, 1ull << 20, 5000, config::CacheAdmit::All},
               {250, 16, 2.5, true}, {2, 1000});
}

TEST_CASE("cache and hot-key fields at the ends of their ranges", "[config]") {
  config::ProxyConfig cfg = mustLoad(
      "cache: {max_memory: 1MiB, max_value_bytes: 1MiB, max_ttl_ms: 1, admit: hot}\n"
      "hot_keys: {window_ms: 100, top_k: 1, min_rate: 0.001}\n"
      "hot_key_replication: {replicas: 0, ttl_ms: 1000}\n" + kMinimal);
  // max_value_bytes equal to max_memory is allowed.
  checkCaching(cfg, {false, 1ull << 20, 1ull << 20, 1, config::CacheAdmit::Hot},
               {100, 1, 0.001, false}, {0, 1000});

  std::string shards = "shards:\n";
  for (int i = 0; i < 17; ++i) {
    shards += "  - {name: s" + std::to_string(i) + ", address: 127.0.0.1:" +
              std::to_string(7000 + i) + "}\n";
  }
  cfg = mustLoad(
      "cache: {max_memory: 1024GiB, max_value_bytes: 1, max_ttl_ms: 86400000}\n"
      "hot_keys: {window_ms: 60000, top_k: 10000, min_rate: 2.5e3}\n"
      "hot_key_replication: {replicas: 16, ttl_ms: 86400000}\n" + shards);
  checkCaching(cfg, {false, 1ull << 40, 1, 86400000, config::CacheAdmit::Hot},
               {60000, 10000, 2500.0, false}, {16, 86400000});
}

TEST_CASE("hot_key_replication.replicas below the number of shards is accepted", "[config]") {
  const config::ProxyConfig cfg = mustLoad(
      "hot_key_replication: {replicas: 1}\n"
      "shards:\n"
      "  - {name: s1, address: 127.0.0.1:7001}\n"
      "  - {name: s2, address: 127.0.0.1:7002}\n");
  CHECK(cfg.hotKeyReplication.replicas == 1);
}

TEST_CASE("the cache may be enabled with backend TLS off, and TLS on with the cache off",
          "[config]") {
  CHECK(mustLoad("cache: {enabled: true}\nbackend: {tls: {enabled: false}}\n" + kMinimal)
            .cache.enabled);
  const config::ProxyConfig cfg =
      mustLoad("cache: {enabled: false}\nbackend: {tls: {enabled: true}}\n" + kMinimal);
  CHECK_FALSE(cfg.cache.enabled);
  CHECK(cfg.backend.tls.enabled);
}

TEST_CASE("every field is read", "[config]") {
  const config::ProxyConfig cfg = mustLoad(
      "listen: 0.0.0.0:7000\nthreads: 8\nlog_level: debug\n"
      "metrics: {enabled: false, listen: '[::1]:9999'}\n"
      "ring: {distribution: ketama, hash: murmur, hash_tag: '', vnodes: 160}\n"
      "backend: {connections: 4, connect_timeout_ms: 50, timeout_ms: 70, max_pending: 9,"
      " max_buffer_bytes: 1KiB}\n"
      "limits: {max_clients: 5, client_max_pending: 6, client_max_output_bytes: 7,"
      " max_bulk_bytes: 2MiB, max_args: 10, max_request_bytes: 3 MiB}\n"
      "shards:\n"
      "  - {name: a, address: 'redis-a.internal:6379', weight: 3}\n"
      "  - {name: b, address: '[fe80::1]:6379', weight: 0}\n");
  CHECK(cfg.listen.str() == "0.0.0.0:7000");
  CHECK(cfg.threads == 8);
  CHECK(cfg.logLevel == "debug");
  CHECK_FALSE(cfg.metrics.enabled);
  CHECK(cfg.metrics.listen.host == "::1");
  CHECK(cfg.metrics.listen.str() == "[::1]:9999");
  CHECK(cfg.ring.distribution == routing::Distribution::Ketama);
  CHECK(cfg.ring.hash == routing::HashKind::Murmur);
  CHECK(cfg.ring.hashTag.empty());
  CHECK(cfg.ring.vnodesPerWeight == 160);
  CHECK(cfg.backend.connections == 4);
  CHECK(cfg.backend.connectTimeoutMs == 50);
  CHECK(cfg.backend.timeoutMs == 70);
  CHECK(cfg.backend.maxPending == 9);
  CHECK(cfg.backend.maxBufferBytes == 1024);
  CHECK(cfg.limits.maxClients == 5);
  CHECK(cfg.limits.clientMaxPending == 6);
  CHECK(cfg.limits.clientMaxOutputBytes == 7);
  CHECK(cfg.limits.maxBulkBytes == 2ull << 20);
  CHECK(cfg.limits.maxArgs == 10);
  CHECK(cfg.limits.maxRequestBytes == 3ull << 20);
  REQUIRE(cfg.shards.size() == 2);
  CHECK(cfg.shards[0].address.host == "redis-a.internal");
  CHECK(cfg.shards[0].weight == 3);
  CHECK(cfg.shards[1].address.host == "fe80::1");
  CHECK(cfg.shards[1].weight == 0);
}

TEST_CASE("both distributions and every hash name are accepted", "[config]") {
  const auto [distribution, expected] =
      GENERATE(std::pair{"vnodes", routing::Distribution::Vnodes},
               std::pair{"ketama", routing::Distribution::Ketama});
  const char* hash = GENERATE("one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64",
                              "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins");
  CAPTURE(distribution, hash);
  const config::ProxyConfig cfg = mustLoad(std::string("ring:\n  distribution: ") +
                                           distribution + "\n  hash: " + hash + "\n" + kMinimal);
  CHECK(cfg.ring.distribution == expected);
  CHECK(cfg.ring.hash == routing::hashKindFromName(hash));
  CHECK(routing::hashKindName(cfg.ring.hash) == hash);
}

TEST_CASE("a shard without a name is named by its address, as in twemproxy", "[config]") {
  const config::ProxyConfig cfg = mustLoad(
      "shards:\n  - address: 10.0.0.1:6379\n  - address: '[::1]:6379'\n");
  REQUIRE(cfg.shards.size() == 2);
  CHECK(cfg.shards[0].name == "10.0.0.1:6379");
  CHECK(cfg.shards[1].name == "[::1]:6379");
}

TEST_CASE("hash tags are two characters or none", "[config]") {
  const char* tag = GENERATE("{}", "::", "<>", "");
  const config::ProxyConfig cfg =
      mustLoad(std::string("ring:\n  hash_tag: \"") + tag + "\"\n" + kMinimal);
  CHECK(cfg.ring.hashTag == tag);
}

TEST_CASE("YAML niceties: booleans, quoting, anchors, comments", "[config]") {
  const config::ProxyConfig cfg = mustLoad(
      "# a comment\n"
      "metrics: {enabled: off}\n"
      "threads: \"4\"\n"
      "shards:\n"
      "  - {name: s1, address: 127.0.0.1:7001, weight: &heavy 2}\n"
      "  - {name: s2, address: 127.0.0.1:7002, weight: *heavy}\n");
  CHECK_FALSE(cfg.metrics.enabled);
  CHECK(cfg.threads == 4);
  CHECK(cfg.shards[0].weight == 2);
  CHECK(cfg.shards[1].weight == 2);
}

TEST_CASE("ringShards lists names and weights in file order", "[config]") {
  const config::ProxyConfig cfg = mustLoad(
      "shards:\n"
      "  - {name: b, address: 127.0.0.1:7002, weight: 2}\n"
      "  - {name: a, address: 127.0.0.1:7001, weight: 0}\n"
      "  - {name: c, address: 127.0.0.1:7003}\n");
  const std::vector<routing::ShardSpec> specs = config::ringShards(cfg);
  REQUIRE(specs.size() == 3);
  CHECK(specs[0].name == "b");
  CHECK(specs[0].weight == 2);
  CHECK(specs[1].name == "a");
  CHECK(specs[1].weight == 0);
  CHECK(specs[2].name == "c");
  CHECK(specs[2].weight == 1);
  std::string error;
  CHECK(routing::HashRing::build(specs, cfg.ring, &error) != nullptr);
  CHECK(error.empty());
}

TEST_CASE("an unreadable file is one error naming the path and the reason", "[config]") {
  const std::string missing = std::string(RP_SOURCE_DIR) + "/deploy/no-such-file.yaml";
  config::LoadResult result = config::loadConfigFile(missing);
  CHECK_FALSE(result.config.has_value());
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].path.empty());
  CHECK(result.errors[0].str() == "cannot read " + missing + ": No such file or directory");

  const std::string directory = std::string(RP_SOURCE_DIR) + "/deploy";
  result = config::loadConfigFile(directory);
  CHECK_FALSE(result.config.has_value());
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].str() == "cannot read " + directory + ": Is a directory");
}
