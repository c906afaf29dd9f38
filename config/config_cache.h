// Readers for the caching sections of a config file: `cache` (the local first-level
// cache), `hot_keys` (hot-key detection) and `hot_key_replication`, and their checks
// against the rest of the file (backend TLS, the shard list).
// Called by: config_loader.cpp's readConfig, which builds each Section with its keys.
#pragma once

#include <cstdint>
#include <optional>

#include "config/config_reader.h"
#include "config/proxy_config.h"

namespace config {

void readCache(const Section& s, CacheConfig& out);
void readHotKeys(const Section& s, HotKeysConfig& out);
void readHotKeyReplication(const Section& s, HotKeyReplicationConfig& out);

// Called from the loader's check across fields once every section has been read.
// `totalWeight` is nullopt when the shard weights are not all known (already reported).
void checkCacheAcrossFields(ErrorList& errors, const ProxyConfig& cfg,
                            std::optional<uint64_t> totalWeight);

}  // namespace config
