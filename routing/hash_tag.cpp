// The hash-tag rule (routing/hash_tag.h): which bytes of a key pick its shard.
// Called by: HashRing::ownerOf and the proxy's multi-key co-location checks, so it must
// agree byte for byte with twemproxy's server_pool_idx and Redis Cluster's keyHashSlot.
#include "routing/hash_tag.h"

namespace routing {

std::string_view routingKey(std::string_view key, std::string_view tag) {
  if (tag.size() != 2) return key;
  const size_t open = key.find(tag[0]);
  if (open == std::string_view::npos) return key;
  // Only the first opening char counts, and the closing search starts after it, so
  // "{{a}}" routes on "{a" and a tag like "$$" works with identical open/close chars.
  const size_t close = key.find(tag[1], open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

}  // namespace routing
