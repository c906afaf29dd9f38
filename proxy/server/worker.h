// Worker: one thread with its own io_context; a client connection lives on one worker for
// its whole life. Owns its sessions, one set of pipelined backend connections per shard
// (backend.connections each), its metric cells, a read scratch buffer and its routing
// snapshot. Other threads reach it only by posting to its io_context (shared nothing).
// Created by proxy::Server; used by ClientSession (same thread).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/proxy_config.h"
#include "pool/backend_connection.h"
#include "proxy/metrics/worker_cells.h"
#include "proxy/server/auth.h"
#include "proxy/server/command_policy.h"
#include "proxy/server/fanout.h"
#include "proxy/server/tls_contexts.h"
#include "proxy/server/worker_cache.h"
#include "routing/hash_ring.h"

namespace boost::asio {
class io_context;
}

namespace proxy {

class ClientSession;
class CacheHub;

// Process-wide facts some replies (INFO, HELLO) need; owned by Server, read by every
// worker. The callbacks only read atomics, so any thread may call them.
struct ProcessStats {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  size_t workers = 0;
  uint16_t port = 0;
  std::function<size_t()> connectedClients;
  std::function<uint64_t()> totalCommands;
  std::atomic<uint64_t> totalConnections{0};
  const metrics::MigrationStats* migration = nullptr;  // INFO's Migration section
  // INFO's Cache section for the config the asking worker runs with.
  std::function<std::string(const config::ProxyConfig&)> cacheInfo;
  std::function<std::string()> hotkeyInfo;  // INFO's Hotkeys section
};

// What a worker routes with; replaced as a whole (immutable snapshot swapped by pointer).
// During a migration config->shards is the union of the old and new shard lists and both
// rings index it: a key whose owners differ is "moving" (see MigrationCoordinator).
// With backend.auto_eject, shards that stopped answering may be ejected (never during a
// migration): `ejectedRing` is `ring` with them at weight 0 (same shard list, same
// indices), and a key whose owner is ejected goes to its owner on that ring instead.
// Every data-path routing decision asks ownerOf() below, so no call site can miss it.
struct RoutingSnapshot {
  // What a request for a moving key does (see migrate_gate.cpp).
  enum class Moves : uint8_t {
    Migrate,  // move it first (MIGRATE on the old owner), then run it on the new owner
    Hold,     // wait: other proxy instances may still route by the old ring (fenced phase)
    Refuse,   // answer an error: this instance lost contact with the others (isolated)
  };
  std::shared_ptr<const config::ProxyConfig> config;
  std::shared_ptr<const routing::HashRing> ring;      // where keys live (or are going)
  std::shared_ptr<const routing::HashRing> previous;  // migrating: where they were; else null
  uint64_t epoch = 0;
  Moves moves = Moves::Migrate;
  std::shared_ptr<const routing::HashRing> ejectedRing;  // set while a shard is ejected
  std::vector<uint8_t> ejected;                          // [shard] 1 = ejected; empty: none

  // The shard a request for `key` goes to: its owner, or, when that owner is ejected,
  // its owner on the ring without the ejected shards. Other keys never move.
  uint32_t ownerOf(std::string_view key) const {
    const uint32_t owner = ring->ownerOf(key);
    if (ejectedRing == nullptr || owner >= ejected.size() || ejected[owner] == 0) return owner;
    return ejectedRing->ownerOf(key);
  }
  bool isEjected(uint32_t shard) const { return shard < ejected.size() && ejected[shard] != 0; }
  // For requests that any one shard may answer (CONFIG GET, SCRIPT LIST, keyless forms):
  // the first shard that is not ejected.
  uint32_t firstShard() const {
    uint32_t s = 0;
    while (isEjected(s)) ++s;
    return s;
  }
};

// Batching: every event handler of this worker (a client read, a backend read) runs as a
// batch; requests for a shard and replies for a client are buffered during the batch and
// written once at its end. Work that happens outside a batch (timers) posts one flush.
class Worker final : public pool::BatchHooks {
 public:
  Worker(size_t index, RoutingSnapshot snapshot, size_t commandCount, TlsContexts tls = {});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Posted by the MigrationCoordinator on every reload, migration phase and auto_eject
  // ejection or return: new settings, ejected shards and/or a new shard list.
  // Connections follow shard names: kept (options updated),
  // opened for new shards, and closed for removed ones once their requests are answered.
  // `drained` (if set) runs on this thread once every request sent before the switch has
  // been answered: a PING behind them on each backend connection came back. Another
  // proxy instance may act on our new phase only then (nothing of ours still in flight).
  // Worker thread.
  void applySnapshot(RoutingSnapshot snapshot, std::function<void()> drained = nullptr);
  // Graceful stop: no new requests are read; in-flight ones finish (bounded by the backend
  // timeout plus a second); then the thread exits. Blocks until joined.
  void stop();

  boost::asio::io_context& ioc() { return *ioc_; }
  size_t index() const { return index_; }
  const metrics::WorkerCells& cells() const { return cells_; }

  // --- worker thread only ---
  void addSession(std::shared_ptr<ClientSession> session);
  void releaseSession(ClientSession* session);
  void markDirty(ClientSession* session);
  void backendDirty(pool::BackendConnection* connection) override;
  void backendGone(pool::BackendConnection* connection) override;
  void beginBatch() override { ++batchDepth_; }
  void endBatch() override;
  const RoutingSnapshot& snapshot() const { return snapshot_; }
  pool::BackendConnection& backend(uint32_t shard, uint64_t clientId);
  // A dedicated connection to `shard` for one session (transactions, blocking commands,
  // pub/sub), already connecting. timeoutMs 0 = no request timeout.
  std::unique_ptr<pool::BackendConnection> makeLink(uint32_t shard, uint32_t timeoutMs);
  // The connection for reading hot-key copies on `shard`: in the reserved database
  // (cluster.db), made on first use, replaced with every snapshot.
  pool::BackendConnection& copyBackend(uint32_t shard);
  const std::string& shardName(uint32_t shard) const;
  const CommandPolicy& policy() const { return policy_; }
  // The client listener's TLS context (null: plain RESP).
  const std::shared_ptr<const pool::TlsContext>& listenerTls() const { return tls_.listener; }
  const Authenticator& authenticator() const { return auth_; }
  void setProcessStats(const ProcessStats* stats) { stats_ = stats; }
  // Keys this worker saw leave their old owner during the current migration (MIGRATE said
  // OK or NOKEY): later requests for them skip the MIGRATE round trip. Bounded.
  bool knownMoved(std::string_view key) const;
  void noteMoved(std::string_view key);
  // A session holding a request for a moving key until the snapshot changes (Moves::Hold).
  void holdUntilNextSnapshot(std::shared_ptr<ClientSession> session);
  FanoutPool& fanouts() { return fanouts_; }
  WorkerCache& cache() { return cache_; }
  // Scratch of the session being dispatched (cache_route.cpp, copy_route.cpp): kept here,
  // not per session, so an idle connection does not pay for it. Valid within one dispatch.
  struct CacheScratch {
    std::string variant;                 // the cache variant of a read
    std::string fillValue;               // stamp + reply for completeFill
    std::vector<char> mgetHit;           // per MGET key: answered from cache
    std::string mgetCached;              // their element frames, back to back
    std::vector<std::pair<size_t, size_t>> mgetSpans;
    std::vector<uint32_t> pendingWrites;       // noteWrites -> the next reserved slot
    std::vector<std::string> pendingCopyWrites;  // copyGate -> the next reserved slot
    // ClientSession's dispatch scratch (see its accessors).
    std::string encoded;
    std::vector<size_t> keyIndex;
    std::vector<uint32_t> keyShard;
    std::vector<int32_t> partOfShard;
    std::vector<uint32_t> keysPerPart;
  };
  CacheScratch& cacheScratch() { return cacheScratch_; }
  // Set by Server before start; null in tests that run a bare worker.
  void setCacheHub(CacheHub* hub) { hub_ = hub; }
  CacheHub* cacheHub() const { return hub_; }
  // The shard's metrics::ShardDirectory slot: stable across reloads, unlike its index.
  uint32_t shardSlot(uint32_t shard) const { return shardSlots_[shard]; }
  // Any thread: runs `fn` on this worker's thread.
  void post(std::function<void()> fn);
  // worker_tracking.cpp: the CacheHub's events, posted to this worker's thread.
  void trackingReady(uint32_t slot, int64_t redirectId, std::string subscriberName);
  void trackingLost(uint32_t slot);
  void cacheInvalidate(uint32_t slot, const std::vector<std::string>& keys);
  void cacheFlush(uint32_t slot, metrics::FlushReason reason);
  const ProcessStats& processStats() const { return *stats_; }
  size_t nextRotation() { return rotation_++; }
  metrics::WorkerCells& cells() { return cells_; }
  std::vector<char>& scratch() { return scratch_; }
  bool shuttingDown() const { return shuttingDown_; }
  size_t sessionCount() const { return sessions_.size(); }

 private:
  class ShardCounters;
  // Replies to the CLIENT TRACKING / CLIENT LIST ID of setupTracking (worker_tracking.cpp).
  struct TrackingSink final : pool::ReplySink {
    explicit TrackingSink(Worker* w) : worker(w) {}
    Worker* worker;
    void onReply(uint64_t tag, std::string_view frame) override { worker->trackingReply(tag, frame, false); }
    void onError(uint64_t tag, pool::BackendError) override { worker->trackingReply(tag, {}, true); }
  };
  void connectBackends();
  // Data connections' counters also report connects and drops to the cache; links' do not.
  ShardCounters* countersFor(const std::string& name, bool data = true);
  void updateShardSlots();
  void dataConnectionEvent(const std::string& shardName, bool up);
  void setupTracking(uint32_t shard);
  void setupAllTracking();
  void stopCaching(uint32_t slot, metrics::FlushReason reason);
  void applyCacheSettings(bool newEpoch);
  void ejectionApplied(const RoutingSnapshot& before);
  void trackingReply(uint64_t tag, std::string_view frame, bool failed);
  void retire(std::vector<std::unique_ptr<pool::BackendConnection>> connections);
  void drainBackends(std::function<void()> drained);
  void closeRetired();
  void flushPending();
  void postFlush();
  void beginShutdown();
  void checkShutdown(std::chrono::steady_clock::time_point deadline);
  void sweepIdle();

  size_t index_;
  RoutingSnapshot snapshot_;
  std::unique_ptr<boost::asio::io_context> ioc_;
  std::thread thread_;
  metrics::WorkerCells cells_;
  FanoutPool fanouts_;  // before the connections: in-flight fanouts settle into it
  std::unordered_map<std::string, std::unique_ptr<ShardCounters>> counters_;  // by shard name
  std::vector<ShardCounters*> shardCounters_;                                   // [shard]
  std::vector<uint32_t> shardSlots_;                                            // [shard]
  WorkerCache cache_{cells_};
  CacheScratch cacheScratch_;
  TrackingSink trackingSink_{this};
  CacheHub* hub_ = nullptr;
  std::vector<std::vector<std::unique_ptr<pool::BackendConnection>>> backends_;  // [shard][i]
  std::vector<std::unique_ptr<pool::BackendConnection>> copyBackends_;           // [shard]
  // Connections of removed shards, closed once nothing is in flight on them.
  std::vector<std::unique_ptr<pool::BackendConnection>> retiredBackends_;
  bool retireCheck_ = false;
  std::unordered_set<std::string> movedKeys_;
  std::vector<std::weak_ptr<ClientSession>> held_;
  std::unordered_map<ClientSession*, std::shared_ptr<ClientSession>> sessions_;
  std::vector<std::shared_ptr<ClientSession>> dirty_;
  std::vector<pool::BackendConnection*> dirtyBackends_;
  int batchDepth_ = 0;
  bool flushPosted_ = false;
  std::vector<char> scratch_;
  bool shuttingDown_ = false;
  // Fan-outs in flight point at shard names of the config they started under: keep a few
  // previous configs alive (reloads are rare; a fan-out lives at most timeout_ms).
  std::vector<std::shared_ptr<const config::ProxyConfig>> retired_;
  CommandPolicy policy_;
  Authenticator auth_;
  TlsContexts tls_;
  const ProcessStats* stats_ = nullptr;
  size_t rotation_ = 0;
  bool idleSweep_ = false;  // the once-a-second idle sweep is scheduled
};

}  // namespace proxy
