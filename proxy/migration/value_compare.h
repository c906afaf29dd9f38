// compareCopies: whether the two copies of a key left on a source and its target (after
// MIGRATE answered BUSYKEY) hold the same value, once their DUMPs already differed.
// Owns nothing. DUMP bytes are a fast "equal" but not a canonical form: a set or hash in
// hashtable encoding is dumped in dict order, which depends on each server's random hash
// seed, so equal values dump differently on two servers. Those two types are compared
// element by element instead; every other type dumps deterministically.
// Called by: SourceWorker (proxy/migration/source_worker.cpp) on its own thread.
#pragma once

#include <string>

#include "proxy/migration/shard_link.h"

namespace mig {

enum class Sameness { Same, Different, Unreadable };

// Reads TYPE, then SMEMBERS/HGETALL when needed, on both links. Unreadable = an I/O failure
// or an error reply (the caller retries later); the links stay usable unless I/O failed.
Sameness compareCopies(ShardLink& source, ShardLink& target, const std::string& key);

}  // namespace mig
