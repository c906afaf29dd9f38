// The hash-tag rule: which part of a key decides its shard.
// Called by: HashRing::ownerOf and the proxy's multi-key co-location checks.
#pragma once

#include <string_view>

namespace routing {

// Redis Cluster's (and twemproxy's) rule for tag "{}": if the key has an opening char and
// a later closing char with at least one byte between them, only those bytes are hashed;
// otherwise the whole key. `tag` is two characters (open, close) or empty (no tags).
std::string_view routingKey(std::string_view key, std::string_view tag);

}  // namespace routing
