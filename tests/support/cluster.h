// ShardedCluster: the standard e2e topology — N redis-server shards, one ringproxy in
// front of them, and the same ring computed in-test (routing::HashRing) so a test knows
// which shard each key must live on. Plus checkPlacement(), the direct-on-shard check.
// Owns: a TempDir, the RedisServers, the Proxy and the ring (destroyed proxy-first).
// Called by: proxy_e2e_test, failure_e2e_test, ketama_e2e_test.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "routing/hash_ring.h"
#include "tests/support/proxy.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace testsupport {

// The in-test ring for a proxy configuration (same shards, distribution, hash, tag).
// Throws std::runtime_error when the options do not describe a valid ring.
std::shared_ptr<const routing::HashRing> ringFor(const ProxyOptions& opts);

// Asks every shard directly (pipelined EXISTS) where each key lives. Returns one line per
// key that is not on exactly its owner (EXISTS 1 there, 0 on every other shard), at most
// `maxReport` lines, plus a final summary line when anything was wrong. Empty = all good.
std::vector<std::string> checkPlacement(const std::vector<uint16_t>& shardPorts,
                                        const routing::HashRing& ring,
                                        const std::vector<std::string>& keys,
                                        size_t maxReport = 20);

class ShardedCluster {
 public:
  // Starts `shardCount` redis-servers named s1..sN, then a proxy with `opts` (its shards
  // field is filled in from the servers, weight 1 each).
  explicit ShardedCluster(ProxyOptions opts = {}, size_t shardCount = 3);
  ShardedCluster(const ShardedCluster&) = delete;
  ShardedCluster& operator=(const ShardedCluster&) = delete;

  TempDir& dir() { return *dir_; }
  size_t shardCount() const { return shards_.size(); }
  RedisServer& shard(size_t i) { return *shards_.at(i); }
  std::vector<uint16_t> shardPorts() const;
  Proxy& proxy() { return *proxy_; }
  Client client(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const {
    return proxy_->client(timeout);
  }
  const routing::HashRing& ring() const { return *ring_; }
  uint32_t ownerOf(const std::string& key) const { return ring_->ownerOf(key); }

  // The first key "<prefix><n>" (n = 0, 1, ...) that the ring puts on shard `index`.
  std::string keyOnShard(size_t index, const std::string& prefix) const;
  // `count` distinct such keys.
  std::vector<std::string> keysOnShard(size_t index, const std::string& prefix,
                                       size_t count) const;
  std::vector<std::string> checkPlacement(const std::vector<std::string>& keys) const {
    return testsupport::checkPlacement(shardPorts(), *ring_, keys);
  }

 private:
  std::unique_ptr<TempDir> dir_;
  std::vector<std::unique_ptr<RedisServer>> shards_;
  std::shared_ptr<const routing::HashRing> ring_;
  std::unique_ptr<Proxy> proxy_;
};

}  // namespace testsupport
