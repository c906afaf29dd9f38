// ShardedCluster and the direct placement check; see cluster.h.
// Called by the e2e tests.
#include "tests/support/cluster.h"

#include <stdexcept>

#include "routing/hash_fn.h"
#include "tests/support/text.h"

namespace testsupport {

std::shared_ptr<const routing::HashRing> ringFor(const ProxyOptions& opts) {
  routing::RingOptions ro;
  if (opts.distribution == "ketama") {
    ro.distribution = routing::Distribution::Ketama;
  } else if (opts.distribution == "vnodes") {
    ro.distribution = routing::Distribution::Vnodes;
  } else {
    throw std::runtime_error("ringFor: unknown distribution " + opts.distribution);
  }
  auto kind = routing::hashKindFromName(opts.hash);
  if (!kind) throw std::runtime_error("ringFor: unknown hash " + opts.hash);
  ro.hash = *kind;
  ro.hashTag = opts.hashTag;
  std::vector<routing::ShardSpec> specs;
  for (const auto& s : opts.shards) specs.push_back({s.name, s.weight});
  std::string error;
  auto ring = routing::HashRing::build(std::move(specs), ro, &error);
  if (!ring) throw std::runtime_error("ringFor: " + error);
  return ring;
}

namespace {

// EXISTS for every key on one shard, pipelined; one 0/1 per key (-1 on a bad reply).
std::vector<int> existsOnShard(uint16_t port, const std::vector<std::string>& keys) {
  Client c(port, std::chrono::milliseconds(10000));
  for (const auto& k : keys) c.append({"EXISTS", k});
  std::vector<int> out;
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    Reply r = c.getReply();
    out.push_back(r.type == ReplyType::Integer ? static_cast<int>(r.integer) : -1);
  }
  return out;
}

std::string describeMismatch(const std::string& key, uint32_t owner,
                             const std::vector<std::vector<int>>& exists, size_t k) {
  std::string line = cat("key '", key, "' owner s", owner + 1, ": EXISTS");
  for (size_t s = 0; s < exists.size(); ++s) line += cat(" s", s + 1, "=", exists[s][k]);
  return line;
}

}  // namespace

std::vector<std::string> checkPlacement(const std::vector<uint16_t>& shardPorts,
                                        const routing::HashRing& ring,
                                        const std::vector<std::string>& keys,
                                        size_t maxReport) {
  std::vector<std::vector<int>> exists;
  for (uint16_t port : shardPorts) exists.push_back(existsOnShard(port, keys));
  std::vector<std::string> problems;
  size_t bad = 0;
  for (size_t k = 0; k < keys.size(); ++k) {
    uint32_t owner = ring.ownerOf(keys[k]);
    bool ok = true;
    for (size_t s = 0; s < shardPorts.size(); ++s) {
      ok = ok && exists[s][k] == (s == owner ? 1 : 0);
    }
    if (ok) continue;
    if (++bad <= maxReport) problems.push_back(describeMismatch(keys[k], owner, exists, k));
  }
  if (bad > 0) {
    problems.push_back(cat(bad, " of ", keys.size(), " keys misplaced"));
  }
  return problems;
}

ShardedCluster::ShardedCluster(ProxyOptions opts, size_t shardCount)
    : dir_(std::make_unique<TempDir>()) {
  opts.shards.clear();
  for (size_t i = 0; i < shardCount; ++i) {
    std::string name = cat("s", i + 1);
    shards_.push_back(std::make_unique<RedisServer>(*dir_, name));
    opts.shards.push_back({name, shards_.back()->address(), 1});
  }
  ring_ = ringFor(opts);
  proxy_ = std::make_unique<Proxy>(*dir_, std::move(opts));
}

std::vector<uint16_t> ShardedCluster::shardPorts() const {
  std::vector<uint16_t> ports;
  for (const auto& s : shards_) ports.push_back(s->port());
  return ports;
}

std::string ShardedCluster::keyOnShard(size_t index, const std::string& prefix) const {
  return keysOnShard(index, prefix, 1).front();
}

std::vector<std::string> ShardedCluster::keysOnShard(size_t index, const std::string& prefix,
                                                     size_t count) const {
  std::vector<std::string> keys;
  for (size_t n = 0; keys.size() < count; ++n) {
    if (n > 1000000) throw std::runtime_error("keysOnShard: shard owns no keys");
    std::string key = prefix + std::to_string(n);
    if (ring_->ownerOf(key) == index) keys.push_back(key);
  }
  return keys;
}

}  // namespace testsupport
