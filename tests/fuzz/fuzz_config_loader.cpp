// fuzz_config_loader: libFuzzer target for config::loadConfigText, which reads files an
// operator wrote (or a bad deploy templated) through yaml-cpp. Checks the loader's contract
// in config_loader.h:
//  - it never throws anything but std::bad_alloc (yaml-cpp throws freely; parseYaml must
//    catch it all);
//  - a config comes back exactly when there are no errors, and every error has a message;
//  - an accepted config holds what validation promises: at least one shard, total weight
//    > 0, unique non-empty shard names, max_bulk_bytes <= max_request_bytes, a vnode ring
//    within its point cap, a hash tag of 0 or 2 characters, ringShards() mirroring shards.
// Only our code is coverage-instrumented (yaml-cpp is the system library), so this explores
// the validation layer and the YAML shapes reaching it, not yaml-cpp's internals.
// Built by tests/fuzz/CMakeLists.txt (RP_FUZZ=ON, clang); run by scripts/fuzz.sh.

#include <cstdint>
#include <exception>
#include <new>
#include <set>
#include <string>
#include <string_view>

#include "config/config_loader.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  config::LoadResult result;
  try {
    result = config::loadConfigText(text);
  } catch (const std::bad_alloc&) {
    return 0;  // allowed by the contract
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "loadConfigText threw: %s", e.what());
  } catch (...) {
    FUZZ_CHECK(false, "loadConfigText threw a non-std exception");
  }

  FUZZ_CHECK(result.config.has_value() == result.errors.empty(),
             "config %s but %zu errors", result.config ? "set" : "unset", result.errors.size());
  for (const config::ConfigError& e : result.errors) {
    FUZZ_CHECK(!e.message.empty(), "error at '%s' has no message", e.path.c_str());
  }
  if (!result.config) return 0;

  const config::ProxyConfig& cfg = *result.config;
  FUZZ_CHECK(!cfg.shards.empty(), "accepted a config with no shards");
  uint64_t totalWeight = 0;
  std::set<std::string> names;
  for (const config::ShardConfig& shard : cfg.shards) {
    FUZZ_CHECK(!shard.name.empty(), "accepted a shard with an empty name");
    FUZZ_CHECK(names.insert(shard.name).second, "accepted duplicate shard name '%s'",
               shard.name.c_str());
    totalWeight += shard.weight;
  }
  FUZZ_CHECK(totalWeight > 0, "accepted shards whose weights sum to 0");
  FUZZ_CHECK(cfg.limits.maxBulkBytes <= cfg.limits.maxRequestBytes,
             "accepted max_bulk_bytes > max_request_bytes");
  if (cfg.ring.distribution == routing::Distribution::Vnodes) {
    FUZZ_CHECK(totalWeight * cfg.ring.vnodesPerWeight <= (1ull << 24),
               "accepted a ring of %llu points",
               static_cast<unsigned long long>(totalWeight * cfg.ring.vnodesPerWeight));
  }
  FUZZ_CHECK(cfg.ring.hashTag.empty() || cfg.ring.hashTag.size() == 2, "accepted hash_tag '%s'",
             cfg.ring.hashTag.c_str());
  const auto specs = config::ringShards(cfg);
  FUZZ_CHECK(specs.size() == cfg.shards.size(), "ringShards lost shards");
  for (size_t i = 0; i < specs.size(); ++i) {
    FUZZ_CHECK(specs[i].name == cfg.shards[i].name && specs[i].weight == cfg.shards[i].weight,
               "ringShards[%zu] differs from shards[%zu]", i, i);
  }
  return 0;
}
