// Tests of config error reporting: every message is path-qualified and exact, all
// errors are collected, and any error means no config.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/config_loader.h"

namespace {

const std::string kShards =
    "shards:\n"
    "  - name: s1\n"
    "    address: 127.0.0.1:7001\n";

// Every error as "path: message"; asserts that a failed load carries no config.
std::vector<std::string> errorsOf(const std::string& text) {
  const config::LoadResult result = config::loadConfigText(text);
  std::vector<std::string> out;
  for (const config::ConfigError& e : result.errors) out.push_back(e.str());
  CHECK(result.config.has_value() == out.empty());
  return out;
}

using Errors = std::vector<std::string>;

// The one error of `text`, or how many there were when not exactly one.
std::string onlyError(const std::string& text) {
  const Errors errors = errorsOf(text);
  return errors.size() == 1 ? errors[0] : std::to_string(errors.size()) + " errors";
}

}  // namespace

TEST_CASE("unknown keys are errors at every level", "[config][errors]") {
  CHECK(errorsOf("listne: 127.0.0.1:1\n" + kShards) == Errors{"listne: unknown key"});
  CHECK(errorsOf("ring:\n  hashh: md5\n" + kShards) == Errors{"ring.hashh: unknown key"});
  CHECK(errorsOf("metrics: {enable: true}\n" + kShards) == Errors{"metrics.enable: unknown key"});
  CHECK(errorsOf("backend: {timeout: 5}\n" + kShards) == Errors{"backend.timeout: unknown key"});
  CHECK(errorsOf("limits: {max_client: 5}\n" + kShards) == Errors{"limits.max_client: unknown key"});
  CHECK(errorsOf("shards:\n  - {name: a, address: 127.0.0.1:1, wieght: 2}\n") ==
        Errors{"shards[0].wieght: unknown key"});
  CHECK(errorsOf("cache: {max_mem: 1GiB}\n" + kShards) == Errors{"cache.max_mem: unknown key"});
  CHECK(errorsOf("hot_keys: {topk: 5}\n" + kShards) == Errors{"hot_keys.topk: unknown key"});
  CHECK(errorsOf("hot_key_replication: {replica: 1}\n" + kShards) ==
        Errors{"hot_key_replication.replica: unknown key"});
  CHECK(errorsOf("hotkeys: {top_k: 5}\n" + kShards) == Errors{"hotkeys: unknown key"});
}

TEST_CASE("duplicate keys are errors", "[config][errors]") {
  CHECK(errorsOf("threads: 1\nthreads: 2\n" + kShards) == Errors{"threads: duplicate key"});
  CHECK(errorsOf("ring:\n  hash: md5\n  hash: crc16\n" + kShards) ==
        Errors{"ring.hash: duplicate key"});
}

TEST_CASE("host:port fields", "[config][errors]") {
  const auto listenError = [](const std::string& value) {
    return onlyError("listen: '" + value + "'\n" + kShards);
  };
  CHECK(listenError("localhost") == "listen: expected host:port");
  CHECK(listenError("localhost:") == "listen: expected host:port");
  CHECK(listenError("localhost:http") == "listen: expected host:port");
  CHECK(listenError(":6380") == "listen: expected host:port (the host is empty)");
  CHECK(listenError("localhost:0") == "listen: port must be 1..65535");
  CHECK(listenError("localhost:65536") == "listen: port must be 1..65535");
  CHECK(listenError("::1:6380") ==
        "listen: expected host:port, with an IPv6 address in brackets ([::1]:6380)");
  CHECK(listenError("[::1]") == "listen: expected host:port");
  CHECK(listenError("[zz::1]:6380") == "listen: invalid IPv6 address '[zz::1]'");
  CHECK(listenError("300.1.1.1:6380") == "listen: invalid IPv4 address '300.1.1.1'");
  CHECK(listenError("1.2.3:6380") == "listen: invalid IPv4 address '1.2.3'");
  CHECK(listenError("bad host:6380") == "listen: invalid host name 'bad host'");
  CHECK(listenError("-bad.example:6380") == "listen: invalid host name '-bad.example'");
  CHECK(errorsOf("listen: [1, 2]\n" + kShards) == Errors{"listen: expected host:port"});
  CHECK(errorsOf("listen:\n" + kShards) == Errors{"listen: expected host:port"});
  CHECK(errorsOf("shards:\n  - {name: a, address: 127.0.0.1}\n  - {name: b, address: x:1}\n") ==
        Errors{"shards[0].address: expected host:port"});
}

TEST_CASE("integer fields", "[config][errors]") {
  CHECK(errorsOf("threads: 257\n" + kShards) == Errors{"threads: expected an integer 0..256"});
  CHECK(errorsOf("threads: -1\n" + kShards) == Errors{"threads: expected an integer 0..256"});
  CHECK(errorsOf("threads: four\n" + kShards) == Errors{"threads: expected an integer 0..256"});
  CHECK(errorsOf("threads: 0x10\n" + kShards) == Errors{"threads: expected an integer 0..256"});
  CHECK(errorsOf("threads: 99999999999999999999\n" + kShards) ==
        Errors{"threads: expected an integer 0..256"});
  CHECK(errorsOf("backend: {connections: 0}\n" + kShards) ==
        Errors{"backend.connections: must be >= 1"});
  CHECK(errorsOf("backend: {timeout_ms: 1.5}\n" + kShards) ==
        Errors{"backend.timeout_ms: expected an integer"});
  CHECK(errorsOf("ring: {vnodes: 100000}\n" + kShards) == Errors{"ring.vnodes: must be <= 65536"});
  CHECK(errorsOf("limits: {max_args: [1]}\n" + kShards) ==
        Errors{"limits.max_args: expected an integer"});
}

TEST_CASE("other scalar fields", "[config][errors]") {
  CHECK(errorsOf("log_level: verbose\n" + kShards) ==
        Errors{"log_level: expected one of debug, info, warn, error"});
  CHECK(errorsOf("metrics: {enabled: maybe}\n" + kShards) ==
        Errors{"metrics.enabled: expected true or false"});
  CHECK(errorsOf("ring: {distribution: modula}\n" + kShards) ==
        Errors{"ring.distribution: expected vnodes or ketama"});
  CHECK(errorsOf("ring: {hash: x}\n" + kShards) ==
        Errors{"ring.hash: unknown hash 'x' (expected one of: " +
               std::string(routing::hashKindNames()) + ")"});
  CHECK(errorsOf("ring: {hash_tag: '{'}\n" + kShards) ==
        Errors{"ring.hash_tag: expected two characters (e.g. \"{}\") or \"\" for none"});
  CHECK(errorsOf("ring:\n  hash_tag: {}\n" + kShards) ==
        Errors{"ring.hash_tag: expected two characters (e.g. \"{}\") or \"\" for none; "
               "quote it: hash_tag: \"{}\""});
}

TEST_CASE("byte-size fields", "[config][errors]") {
  CHECK(errorsOf("backend: {max_buffer_bytes: 64MB}\n" + kShards) ==
        Errors{"backend.max_buffer_bytes: ambiguous unit 'MB': use KiB, MiB or GiB "
               "(1024-based) or a plain byte count"});
  CHECK(errorsOf("backend: {max_buffer_bytes: lots}\n" + kShards) ==
        Errors{"backend.max_buffer_bytes: expected a byte size like 65536, 512KiB, 64MiB or 1GiB"});
  CHECK(errorsOf("limits: {client_max_output_bytes: 0}\n" + kShards) ==
        Errors{"limits.client_max_output_bytes: must be >= 1"});
  CHECK(errorsOf("limits: {max_request_bytes: 2000GiB}\n" + kShards) ==
        Errors{"limits.max_request_bytes: must be <= 1024GiB"});
  CHECK(errorsOf("limits: {max_bulk_bytes: 2GiB}\n" + kShards) ==
        Errors{"limits.max_bulk_bytes: must be <= limits.max_request_bytes (1GiB)"});
}

TEST_CASE("shard errors", "[config][errors]") {
  CHECK(errorsOf("threads: 1\n") == Errors{"shards: required"});
  CHECK(errorsOf("") == Errors{"shards: required"});
  CHECK(errorsOf("shards: []\n") == Errors{"shards: at least one shard is required"});
  CHECK(errorsOf("shards:\n") == Errors{"shards: at least one shard is required"});
  CHECK(errorsOf("shards: {name: s1}\n") == Errors{"shards: expected a list"});
  CHECK(errorsOf("shards: 127.0.0.1:7001\n") == Errors{"shards: expected a list"});
  CHECK(errorsOf("shards:\n  - 127.0.0.1:7001\n") == Errors{"shards[0]: expected a mapping"});
  CHECK(errorsOf("shards:\n  -\n") == Errors{"shards[0]: expected a mapping"});
  CHECK(errorsOf("shards:\n  - name: s1\n") == Errors{"shards[0].address: required"});
  CHECK(errorsOf("shards:\n  - {name: '', address: 127.0.0.1:1}\n") ==
        Errors{"shards[0].name: must not be empty"});
  CHECK(errorsOf("shards:\n  - {name: 'a b', address: 127.0.0.1:1}\n") ==
        Errors{"shards[0].name: must not contain spaces or control characters"});
  CHECK(errorsOf("shards:\n  - {name: [a], address: 127.0.0.1:1}\n") ==
        Errors{"shards[0].name: expected a name"});
}

TEST_CASE("shard weights", "[config][errors]") {
  CHECK(errorsOf("shards:\n"
                 "  - {name: s1, address: 127.0.0.1:7001}\n"
                 "  - {name: s2, address: 127.0.0.1:7002}\n"
                 "  - {name: s3, address: 127.0.0.1:7003, weight: -1}\n") ==
        Errors{"shards[2].weight: must be >= 0"});
  CHECK(errorsOf("shards:\n"
                 "  - {name: s1, address: 127.0.0.1:7001, weight: 0}\n"
                 "  - {name: s2, address: 127.0.0.1:7002, weight: 0}\n") ==
        Errors{"shards: at least one shard must have weight > 0"});
  CHECK(errorsOf("shards:\n  - {name: s1, address: 127.0.0.1:7001, weight: 100000}\n") ==
        Errors{"shards[0].weight: must be <= 65535"});
  CHECK(errorsOf("ring: {vnodes: 65536}\n"
                 "shards:\n  - {name: s1, address: 127.0.0.1:7001, weight: 65535}\n") ==
        Errors{"ring.vnodes: vnodes x total shard weight = 4294901760 ring points, more than "
               "16777216"});
  // ketama places 160 points per shard whatever the weights: no such limit.
  CHECK(errorsOf("ring: {distribution: ketama, vnodes: 65536}\n"
                 "shards:\n  - {name: s1, address: 127.0.0.1:7001, weight: 65535}\n")
            .empty());
}

TEST_CASE("duplicate shard names and addresses", "[config][errors]") {
  CHECK(errorsOf("shards:\n"
                 "  - {name: s1, address: 127.0.0.1:7001}\n"
                 "  - {name: s2, address: 127.0.0.1:7002}\n"
                 "  - {name: s3, address: 127.0.0.1:7003}\n"
                 "  - {name: s1, address: 127.0.0.1:7004}\n") ==
        Errors{"shards[3].name: duplicate name 's1'"});
  CHECK(errorsOf("shards:\n"
                 "  - {name: s1, address: 127.0.0.1:7001}\n"
                 "  - {name: s2, address: 127.0.0.1:7001}\n") ==
        Errors{"shards[1].address: duplicate address '127.0.0.1:7001'"});
  CHECK(errorsOf("shards:\n"
                 "  - {name: s1, address: LOCALHOST:7001}\n"
                 "  - {name: s2, address: localhost:7001}\n") ==
        Errors{"shards[1].address: duplicate address 'localhost:7001'"});
  // Unnamed shards at one address: one problem, reported once.
  CHECK(errorsOf("shards:\n  - address: 127.0.0.1:7001\n  - address: 127.0.0.1:7001\n") ==
        Errors{"shards[1].address: duplicate address '127.0.0.1:7001'"});
}

TEST_CASE("sockets that would collide or loop", "[config][errors]") {
  CHECK(errorsOf("metrics: {listen: 127.0.0.1:6380}\n" + kShards) ==
        Errors{"metrics.listen: conflicts with listen (127.0.0.1:6380)"});
  CHECK(errorsOf("listen: 0.0.0.0:9121\n" + kShards) ==
        Errors{"metrics.listen: conflicts with listen (0.0.0.0:9121)"});
  CHECK(errorsOf("listen: 0.0.0.0:9121\nmetrics: {enabled: false}\n" + kShards).empty());
  CHECK(errorsOf("listen: 127.0.0.1:7001\nmetrics: {enabled: false}\n" + kShards) ==
        Errors{"shards[0].address: is the proxy's own listen address"});
}

TEST_CASE("wrong node types", "[config][errors]") {
  CHECK(errorsOf("- a\n- b\n") == Errors{"expected a mapping of settings at the top level"});
  CHECK(errorsOf("just text\n") == Errors{"expected a mapping of settings at the top level"});
  CHECK(errorsOf("metrics: true\n" + kShards) == Errors{"metrics: expected a mapping"});
  CHECK(errorsOf("ring: [vnodes]\n" + kShards) == Errors{"ring: expected a mapping"});
  CHECK(errorsOf("[a]: 1\n" + kShards) == Errors{"keys must be plain strings"});
}

TEST_CASE("YAML syntax errors are one file-level error with line and column",
          "[config][errors]") {
  const config::LoadResult result =
      config::loadConfigText("listen: 127.0.0.1:6380\nring:\n  hash: [md5\n" + kShards);
  CHECK_FALSE(result.config.has_value());
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].path.empty());
  CHECK_THAT(result.errors[0].message, Catch::StartsWith("invalid YAML at line "));
  CHECK_THAT(result.errors[0].message, Catch::Contains(", column "));

  const Errors tab = errorsOf("ring:\n\thash: md5\n");
  REQUIRE(tab.size() == 1);
  CHECK_THAT(tab[0], Catch::StartsWith("invalid YAML at line 2, column "));

  CHECK(errorsOf(kShards + "---\n" + kShards) == Errors{"expected one YAML document, found 2"});
}

TEST_CASE("alias bombs are refused, not expanded", "[config][errors]") {
  // Ten levels of ten-fold aliases: 10^10 nodes if expanded.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (char level = '1'; level <= '9'; ++level) {
    const std::string prev = std::string("*a") + static_cast<char>(level - 1);
    text += std::string("a") + level + ": &a" + level + " [" + prev;
    for (int i = 1; i < 10; ++i) text += ", " + prev;
    text += "]\n";
  }
  CHECK(errorsOf(text) == Errors{"document too large: more than 100000 nodes"});
}

TEST_CASE("every error is reported, in file order", "[config][errors]") {
  CHECK(errorsOf("listen: nowhere\n"
                 "threads: 1000\n"
                 "ring:\n"
                 "  hashh: md5\n"
                 "  distribution: modula\n"
                 "limits:\n"
                 "  max_bulk_bytes: 1MB\n"
                 "shards:\n"
                 "  - {name: s1, address: 127.0.0.1:7001}\n"
                 "  - {name: s2}\n"
                 "  - {name: s1, address: 127.0.0.1:7003, weight: -1}\n") ==
        Errors{
            "listen: expected host:port",
            "threads: expected an integer 0..256",
            "ring.hashh: unknown key",
            "ring.distribution: expected vnodes or ketama",
            "limits.max_bulk_bytes: ambiguous unit 'MB': use KiB, MiB or GiB (1024-based) or a "
            "plain byte count",
            "shards[1].address: required",
            "shards[2].weight: must be >= 0",
            "shards[2].name: duplicate name 's1'",
        });
}

TEST_CASE("cache fields", "[config][errors]") {
  const auto cacheError = [](const std::string& fields) {
    return onlyError("cache: {" + fields + "}\n" + kShards);
  };
  CHECK(cacheError("enabled: maybe") == "cache.enabled: expected true or false");
  CHECK(cacheError("max_memory: 1023KiB") == "cache.max_memory: must be >= 1MiB");
  CHECK(cacheError("max_memory: 1025GiB") == "cache.max_memory: must be <= 1024GiB");
  CHECK(cacheError("max_memory: 0") == "cache.max_memory: must be >= 1MiB");
  CHECK(cacheError("max_memory: 256MB") ==
        "cache.max_memory: ambiguous unit 'MB': use KiB, MiB or GiB (1024-based) or a plain "
        "byte count");
  CHECK(cacheError("max_memory: lots") ==
        "cache.max_memory: expected a byte size like 65536, 512KiB, 64MiB or 1GiB");
  CHECK(cacheError("max_value_bytes: 0") == "cache.max_value_bytes: must be >= 1");
  CHECK(cacheError("max_value_bytes: 2000GiB") == "cache.max_value_bytes: must be <= 1024GiB");
  CHECK(cacheError("max_value_bytes: 257MiB") ==
        "cache.max_value_bytes: must be <= cache.max_memory (256MiB)");
  CHECK(cacheError("max_memory: 1MiB, max_value_bytes: 1048577") ==
        "cache.max_value_bytes: must be <= cache.max_memory (1MiB)");
  // A bad max_memory is reported alone, not compared with the default left in its place.
  CHECK(cacheError("max_memory: 1KiB, max_value_bytes: 512KiB") ==
        "cache.max_memory: must be >= 1MiB");
  CHECK(cacheError("max_ttl_ms: 0") == "cache.max_ttl_ms: must be >= 1");
  CHECK(cacheError("max_ttl_ms: 86400001") == "cache.max_ttl_ms: must be <= 86400000");
  CHECK(cacheError("max_ttl_ms: 1.5") == "cache.max_ttl_ms: expected an integer");
  CHECK(cacheError("admit: some") == "cache.admit: expected hot or all");
  CHECK(cacheError("admit: HOT") == "cache.admit: expected hot or all");
  CHECK(cacheError("admit: [hot]") == "cache.admit: expected hot or all");
  CHECK(errorsOf("cache: true\n" + kShards) == Errors{"cache: expected a mapping"});
}

TEST_CASE("hot_keys fields", "[config][errors]") {
  const auto hotKeysError = [](const std::string& fields) {
    return onlyError("hot_keys: {" + fields + "}\n" + kShards);
  };
  CHECK(hotKeysError("window_ms: 99") == "hot_keys.window_ms: must be >= 100");
  CHECK(hotKeysError("window_ms: 60001") == "hot_keys.window_ms: must be <= 60000");
  CHECK(hotKeysError("top_k: 0") == "hot_keys.top_k: must be >= 1");
  CHECK(hotKeysError("top_k: 10001") == "hot_keys.top_k: must be <= 10000");
  CHECK(hotKeysError("export_key_names: sometimes") ==
        "hot_keys.export_key_names: expected true or false");
  const std::string expectRate =
      "hot_keys.min_rate: expected a number of requests per second > 0, like 1000 or 0.5";
  CHECK(hotKeysError("min_rate: 0") == "hot_keys.min_rate: must be > 0");
  CHECK(hotKeysError("min_rate: 0.0") == "hot_keys.min_rate: must be > 0");
  CHECK(hotKeysError("min_rate: 1e999") == "hot_keys.min_rate: out of range (must be finite and > 0)");
  CHECK(hotKeysError("min_rate: 1e-999") == "hot_keys.min_rate: out of range (must be finite and > 0)");
  CHECK(hotKeysError("min_rate: -5") == expectRate);
  CHECK(hotKeysError("min_rate: +5") == expectRate);
  CHECK(hotKeysError("min_rate: .inf") == expectRate);
  CHECK(hotKeysError("min_rate: inf") == expectRate);
  CHECK(hotKeysError("min_rate: nan") == expectRate);
  CHECK(hotKeysError("min_rate: 10/s") == expectRate);
  CHECK(hotKeysError("min_rate: 1.") == expectRate);
  CHECK(hotKeysError("min_rate: fast") == expectRate);
  CHECK(hotKeysError("min_rate: [1]") == expectRate);
  CHECK(hotKeysError("min_rate: ''") == expectRate);
}

TEST_CASE("hot_key_replication fields", "[config][errors]") {
  CHECK(errorsOf("hot_key_replication: {replicas: 17}\n" + kShards) ==
        Errors{"hot_key_replication.replicas: expected an integer 0..16"});
  CHECK(errorsOf("hot_key_replication: {replicas: -1}\n" + kShards) ==
        Errors{"hot_key_replication.replicas: expected an integer 0..16"});
  CHECK(errorsOf("hot_key_replication: {ttl_ms: 999}\n" + kShards) ==
        Errors{"hot_key_replication.ttl_ms: must be >= 1000"});
  CHECK(errorsOf("hot_key_replication: {ttl_ms: 86400001}\n" + kShards) ==
        Errors{"hot_key_replication.ttl_ms: must be <= 86400000"});
}

TEST_CASE("hot_key_replication.replicas must be below the number of shards", "[config][errors]") {
  const std::string two =
      "shards:\n"
      "  - {name: s1, address: 127.0.0.1:7001}\n"
      "  - {name: s2, address: 127.0.0.1:7002}\n";
  CHECK(errorsOf("hot_key_replication: {replicas: 1}\n" + kShards) ==
        Errors{"hot_key_replication.replicas: must be less than the number of shards with "
               "weight > 0 (1): each copy goes to a shard other than the key's own"});
  CHECK(errorsOf("hot_key_replication: {replicas: 2}\n" + two) ==
        Errors{"hot_key_replication.replicas: must be less than the number of shards with "
               "weight > 0 (2): each copy goes to a shard other than the key's own"});
  // A shard of weight 0 owns no keys, so it takes no copies either.
  CHECK(errorsOf("hot_key_replication: {replicas: 1}\n" + two +
                 "  - {name: s3, address: 127.0.0.1:7003, weight: 0}\n")
            .empty());
  CHECK(errorsOf("hot_key_replication: {replicas: 2}\n" + two +
                 "  - {name: s3, address: 127.0.0.1:7003, weight: 0}\n") ==
        Errors{"hot_key_replication.replicas: must be less than the number of shards with "
               "weight > 0 (2): each copy goes to a shard other than the key's own"});
  // 0 is off, whatever the shards; unknown weights or no shards: reported once, elsewhere.
  CHECK(errorsOf("hot_key_replication: {replicas: 0}\n" + kShards).empty());
  CHECK(errorsOf("hot_key_replication: {replicas: 3}\n"
                 "shards:\n  - {name: s1, address: 127.0.0.1:7001, weight: x}\n") ==
        Errors{"shards[0].weight: expected an integer"});
  CHECK(errorsOf("hot_key_replication: {replicas: 3}\n") == Errors{"shards: required"});
}

TEST_CASE("the cache and backend TLS exclude each other", "[config][errors]") {
  const std::string message =
      "cache.enabled: the cache needs an invalidation subscriber per shard, which cannot use "
      "TLS (hiredis 0.14 has no TLS); turn one of them off";
  CHECK(errorsOf("cache: {enabled: true}\nbackend: {tls: {enabled: true}}\n" + kShards) ==
        Errors{message});
  // Reported with the other problems of the file, and the file still yields no config.
  CHECK(errorsOf("cache: {enabled: true, admit: some}\n"
                 "backend: {tls: {enabled: true}}\n"
                 "hot_key_replication: {replicas: 1}\n" + kShards) ==
        Errors{"cache.admit: expected hot or all", message,
               "hot_key_replication.replicas: must be less than the number of shards with "
               "weight > 0 (1): each copy goes to a shard other than the key's own"});
}
