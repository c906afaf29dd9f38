// The `cache`, `hot_keys` and `hot_key_replication` sections (see config_cache.h).
// Called by: config_loader.cpp.
#include "config/config_cache.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>

namespace config {
namespace {

// As in config_loader.cpp, upper bounds catch typos rather than police deployments.
constexpr ByteRule kMaxMemory{1ull << 20, 1ull << 40};  // 1MiB..1TiB, whole process
constexpr ByteRule kMaxValueBytes{1, 1ull << 40};        // and <= max_memory
constexpr IntRule kMaxTtlMs{1, 86'400'000};              // up to a day
constexpr IntRule kWindowMs{100, 60'000};
constexpr IntRule kTopK{1, 10'000};
constexpr IntRule kReplicas{0, 16, true};
constexpr IntRule kReplicaTtlMs{1'000, 86'400'000};

constexpr std::string_view kExpectAdmit = "expected hot or all";
constexpr std::string_view kExpectRate =
    "expected a number of requests per second > 0, like 1000 or 0.5";
constexpr std::string_view kCacheNeedsPlainShards =
    "the cache needs an invalidation subscriber per shard, which cannot use TLS "
    "(hiredis 0.14 has no TLS); turn one of them off";

// A positive decimal number ("1000", "0.5", "2.5e3"). It must start with a digit or '.'
// and end with a digit: from_chars alone would also take "-1", "inf" and "nan". Like the
// integer fields, no sign and no YAML specials (.inf, .nan); from_chars ignores the locale.
bool readRate(const Section& s, std::string_view key, double& out) {
  const std::string* text = readScalar(s, key, kExpectRate);
  if (text == nullptr) return false;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const char* end = text->data() + text->size();
  double value = 0;
  const auto [stop, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || !(digit(text->front()) || text->front() == '.') || !digit(text->back()) ||
      stop != end) {
    s.fail(key, std::string(kExpectRate));
  } else if (ec != std::errc() || !std::isfinite(value)) {
    s.fail(key, "out of range (must be finite and > 0)");  // 1e999 or 1e-999
  } else if (value <= 0) {
    s.fail(key, "must be > 0");
  } else {
    out = value;
    return true;
  }
  return false;
}

}  // namespace

void readCache(const Section& s, CacheConfig& out) {
  readBool(s, "enabled", out.enabled);
  const bool memoryKnown = s.find("max_memory") == nullptr ||
                          readBytes(s, "max_memory", kMaxMemory, out.maxMemory);
  // One value larger than the whole cache could never be stored.
  if (readBytes(s, "max_value_bytes", kMaxValueBytes, out.maxValueBytes) && memoryKnown &&
      out.maxValueBytes > out.maxMemory) {
    s.fail("max_value_bytes", "must be <= " + s.pathOf("max_memory") + " (" +
                                  formatByteSize(out.maxMemory) + ")");
  }
  readUint32(s, "max_ttl_ms", kMaxTtlMs, out.maxTtlMs);
  if (const std::string* text = readScalar(s, "admit", kExpectAdmit)) {
    if (*text == "hot" || *text == "all") {
      out.admit = *text == "hot" ? CacheAdmit::Hot : CacheAdmit::All;
    } else {
      s.fail("admit", std::string(kExpectAdmit));
    }
  }
}

void readHotKeys(const Section& s, HotKeysConfig& out) {
  readUint32(s, "window_ms", kWindowMs, out.windowMs);
  readUint32(s, "top_k", kTopK, out.topK);
  readRate(s, "min_rate", out.minRate);
  readBool(s, "export_key_names", out.exportKeyNames);
}

void readHotKeyReplication(const Section& s, HotKeyReplicationConfig& out) {
  readUint32(s, "replicas", kReplicas, out.replicas);
  readUint32(s, "ttl_ms", kReplicaTtlMs, out.ttlMs);
}

void checkCacheAcrossFields(ErrorList& errors, const ProxyConfig& cfg,
                            std::optional<uint64_t> totalWeight) {
  // Same limit as the migration control plane (membership records, the mover), which
  // is switched off while backend.tls is on; a cache without its invalidations would
  // serve stale values, so here the file is refused instead.
  if (cfg.cache.enabled && cfg.backend.tls.enabled) {
    errors.add("cache.enabled", std::string(kCacheNeedsPlainShards));
  }
  // Copies go to shards other than the key's own, and only shards on the ring (weight
  // > 0) take keys. Unknown weights were reported already.
  const uint32_t replicas = cfg.hotKeyReplication.replicas;
  if (replicas == 0 || !totalWeight) return;
  const auto owners = static_cast<size_t>(std::count_if(
      cfg.shards.begin(), cfg.shards.end(), [](const ShardConfig& s) { return s.weight > 0; }));
  if (replicas >= owners) {
    errors.add("hot_key_replication.replicas",
               "must be less than the number of shards with weight > 0 (" +
                   std::to_string(owners) + "): each copy goes to a shard other than the key's own");
  }
}

}  // namespace config
