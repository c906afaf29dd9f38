// MigrationState: the unfinished migration as recorded beside the config (design.md §7.6),
// so a proxy restarted mid-migration resumes it instead of stranding keys on old owners.
// Owns: the on-disk format, a versioned human-readable text file:
//   ringproxy-migration-state 1
//   epoch 7
//   distribution vnodes | hash fnv1a_64 | hash_tag "{}" | vnodes_per_weight 1024 (one a line)
//   from_digest "..." / to_digest "..."
//   from_shards N, then N lines: shard "name" weight      (the same for to_shards)
//   addresses N, then N lines:   address "name" "host:port"
//   cursors N, then N lines:     cursor <scan cursor> <pass>
//   checksum <fnv1a64 hex of every byte above this line>
// Strings are double-quoted with %XX escapes for '%', '"', spaces, control and non-ASCII
// bytes, so names and tags with spaces survive. The checksum line comes last, so a torn or
// truncated file is rejected rather than half-read.
// Called by: the proxy's migration control (save after cursorSaved, load at start-up,
// remove when the migration finished) and tests/unit/migration_state_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proxy/migration/migrator.h"
#include "routing/hash_ring.h"

namespace mig {

struct MigrationState {
  uint64_t epoch = 0;
  routing::RingOptions options;
  std::vector<routing::ShardSpec> fromShards, toShards;  // same names, same order
  // name -> "host:port" for every shard of the union
  std::vector<std::pair<std::string, std::string>> addresses;
  std::vector<SourceCursor> cursors;  // one a shard, in ring order
  std::string fromDigest, toDigest;
};

// Writes `path`.tmp, fsyncs it, renames it over `path` and fsyncs the directory, so a crash
// leaves either the old or the new file. False + *error on any failure (or when the state
// is inconsistent: from/to shard lists of different names, cursors not one a shard).
bool saveState(const std::string& path, const MigrationState& state, std::string* error);

// nullopt with an empty *error when there is no file; nullopt with the reason (line number
// included) when it cannot be read or is not a complete, valid state. Never throws.
std::optional<MigrationState> loadState(const std::string& path, std::string* error);

// Deletes the file (and a leftover .tmp); a missing file is fine.
void removeState(const std::string& path);

}  // namespace mig
