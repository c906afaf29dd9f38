// ClientSession: one client connection, on one worker, for its whole life.
// Owns: the socket, the partial-request buffer (only while a request is split across
// reads: complete requests are parsed straight out of the worker's scratch buffer, so an
// idle connection holds no buffer), the request parser, the per-client FIFO of reply slots
// and the output buffer.
// Called by: Worker (start, flushOutput, shutdown) and pool::BackendConnection (replies).
//
// Ordering: every request takes a slot in the FIFO when it is parsed; backend replies may
// complete slots in any order; bytes leave only from the head, so pipelined replies reach
// the client in request order. Backpressure: when the FIFO or the output buffer reaches
// its cap the session stops reading; it resumes when they drain.
// Lifetime: the worker holds the session; it is released after close once no backend
// request of it is still in flight (every send gets exactly one callback).
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <map>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pool/backend_connection.h"
#include "pool/reply_sink.h"
#include "pool/ring_queue.h"
#include "pool/tls_filter.h"
#include "proxy/cache/l1_cache.h"
#include "proxy/resp/request_parser.h"
#include "proxy/server/fanout.h"
#include "proxy/server/local_commands.h"
#include "proxy/server/pubsub_state.h"

namespace cmd {
struct CommandSpec;
}

namespace proxy {

class Worker;
struct RoutingSnapshot;

class ClientSession final : public pool::ReplySink,
                            public FanoutTarget,
                            public std::enable_shared_from_this<ClientSession> {
 public:
  ClientSession(Worker& worker, boost::asio::ip::tcp::socket socket, uint64_t id);
  ~ClientSession();

  void start();
  void flushOutput();
  bool outputOverLimit();
  // Stop reading; close once every reply already owed has been written.
  void shutdown();
  bool closed() const { return closed_; }
  // The worker's idle sweep; true when it closed the session.
  bool closeIfIdle(std::chrono::steady_clock::time_point now, std::chrono::seconds timeout);
  // Requests of this client are still being answered (its FIFO is not empty).
  bool awaitingReplies() const { return !slots_.empty(); }

  void onReply(uint64_t seq, std::string_view frame) override;
  void onError(uint64_t seq, pool::BackendError error) override;
  // The worker has a new routing snapshot: a request held for it is looked at again.
  void snapshotChanged();
  // The worker switched to a snapshot whose ejected shards differ from `before`'s
  // (auto_eject; pubsub.cpp).
  void routingChanged(const RoutingSnapshot& before);
  void completeFanout(uint64_t seq, std::string_view reply) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct SlotCache {
    // cache_route.cpp: a read that fills the L1 when it answers (fill.valid()).
    cache::FillToken fill;
    uint64_t l1Generation = 0;  // the L1 partition the token belongs to
    int64_t pttl = 0;           // the key's PTTL, read just before it
    bool pttlKnown = false;
    uint32_t stampBucket = 0;
    uint64_t stamp = 0;         // cache::WriteStamps of the key when the read was sent
    // A write: stamps to bump again when it is answered (kAllBuckets = every bucket).
    std::vector<uint32_t> writeBuckets;
    // copy_route.cpp: a write to replicated hot keys (CacheHub::endWrite when answered).
    std::vector<std::string> copyWrites;
  };
  struct Slot {
    bool done = false;
    uint32_t command = 0;
    uint32_t shard = 0;
    Clock::time_point start;
    std::string data;
    // Only for requests the L1 cache or hot-key copies care about (most slots never have
    // one: an idle session's slots stay small).
    std::unique_ptr<SlotCache> cache;
  };
  static constexpr uint32_t kAllBuckets = UINT32_MAX;

  void armRead();
  void onRead(size_t n);
  void waitQuiet();
  void readIntoScratch(size_t n);
  void readTls(size_t n);
  size_t unsentBytes() const { return out_.size() - outSent_ + (tls_ ? tls_->cipherPending() : 0); }
  void readMore();
  size_t processInput(const char* data, size_t len);
  // dispatch.cpp: one parsed request -> the strategy its command table entry names.
  // Returns false when the request must wait (connection switch barrier): it stays unread.
  bool dispatch(std::string_view frame);
  bool dispatchShared(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  bool deniedByPolicy(const cmd::CommandSpec& spec, uint32_t commandIndex);
  std::string_view requestBytes(std::string_view frame);
  void forwardToShard(uint32_t shard, uint32_t commandIndex, std::string_view frame);
  void forwardBytes(uint32_t shard, uint32_t commandIndex, std::string_view bytes);
  void forwardSingle(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  void forwardMultiKey(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  void forwardCoLocated(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  void forwardAllShards(uint32_t commandIndex, Merge merge, size_t firstArg = 0);
  void forwardKeyspace(const cmd::CommandSpec& spec, uint32_t commandIndex);
  void forwardScan(uint32_t commandIndex);
  void forwardBroadcast(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  void runLocal(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  // auth: AUTH and HELLO ... AUTH, and the gate in front of everything else.
  bool authGate(const cmd::CommandSpec& spec, uint32_t commandIndex);
  void resetSession(uint32_t commandIndex);
  void authCommand(uint32_t commandIndex);
  bool helloAuth(uint32_t commandIndex);
  void forwardInfoKeyspace(uint32_t commandIndex, std::string prefix);
  void startFanout(Fanout* fanout);

  // cache_route.cpp: reads through the worker's L1 partition, writes that void entries.
  bool readThroughCache(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame,
                        uint32_t shard);
  bool sendFill(uint32_t shard, uint32_t commandIndex, std::string_view frame, const cache::FillToken& token,
                uint32_t bucket, uint64_t stamp);
  void cacheAuxReply(uint64_t tag, std::string_view frame);
  void finishFill(SlotCache& slot, std::string_view frame);
  bool filling(uint64_t seq);
  bool cacheableKey(std::string_view key, uint32_t shard) const;
  size_t lookupMget(size_t keys);
  void noteWrites(const cmd::CommandSpec& spec);
  void bumpWrites(std::vector<uint32_t>& buckets);

  // copy_route.cpp: hot-key copies (hot_key_replication; see CacheHub).
  bool readCopy(uint32_t commandIndex, std::string_view key, uint32_t owner);
  void copyReply(uint64_t seq, std::string_view frame, bool failed);
  // Before a write to replicated keys is routed: false = wait, unread, until the CacheHub
  // deleted their copies.
  bool copyGate(const cmd::CommandSpec& spec);
  void copiesDeleted();
  void endCopyWrites(std::vector<std::string>& keys);
  // migrate_gate.cpp: during a migration, a request that touches keys still on their old
  // owner first moves them (MIGRATE on the source) and waits, unread, until they moved.
  enum class Gate : uint8_t { Pass, Wait, Answered };
  Gate migrationGate(const cmd::CommandSpec& spec, uint32_t commandIndex);
  std::optional<Gate> heldRequestOutcome(uint32_t commandIndex);
  bool sendMigrate(uint32_t from, uint32_t to, std::string_view command);
  void migrateReplied(uint64_t tag, std::string_view errorText);
  struct MigrateSink final : pool::ReplySink {
    ClientSession* owner = nullptr;
    void onReply(uint64_t tag, std::string_view frame) override;
    void onError(uint64_t tag, pool::BackendError error) override;
  };

  // session_links.cpp: the session's dedicated backend connection, used for transactions
  // (MULTI/EXEC pinned to one shard) and blocking commands. Switching between it and the
  // shared connections waits until nothing is in flight, so a pipeline keeps its order.
  enum class Mode : uint8_t { Shared, Link, PubSub };
  bool switchMode(Mode mode);
  bool useLink(uint32_t shard, uint32_t timeoutMs);
  std::optional<uint64_t> sendLink(uint32_t commandIndex, std::string_view frame);
  std::optional<uint32_t> keysShard(const cmd::CommandSpec& spec, bool& crossSlot);
  bool dispatchTransaction(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  bool dispatchInMulti(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  bool dispatchExec(uint32_t commandIndex, std::string_view frame);
  bool dispatchBlocking(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  bool pinTransaction(uint32_t shard);
  void pinLink();
  bool linkLost() const;
  void endTransaction();
  bool clientUnblock(uint32_t commandIndex);
  void requestDone();

  // pubsub.cpp: subscriptions on dedicated per-shard connections (see pubsub_state.h).
  bool dispatchPubSub(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  bool dispatchInPubSubMode(const cmd::CommandSpec& spec, uint32_t commandIndex, std::string_view frame);
  void subscribeCommand(std::string_view name, uint32_t commandIndex);
  void sendSubscriptions(std::string_view verb, const std::map<uint32_t, std::vector<std::string>>& byShard);
  pool::BackendConnection& pubsubLink(uint32_t shard);
  void forwardPubSubIntrospection(uint32_t commandIndex, std::string_view frame);
  void emitPush(std::string_view bytes);
  void releaseConfirmed();
  void leavePubSubIfEmpty();
  void onPubSubFrame(uint32_t shard, std::string_view frame);
  void onPubSubLost(uint32_t shard);
  friend struct PubSubLinkSink;

  // Receives the dedicated connection's CLIENT ID (for CLIENT UNBLOCK).
  struct LinkIdSink final : pool::ReplySink {
    ClientSession* owner = nullptr;
    int64_t id = -1;
    bool answered = false;  // the shard replied (an id, or an error: then no CLIENT UNBLOCK)
    void onReply(uint64_t, std::string_view frame) override;
    void onError(uint64_t, pool::BackendError) override;
  };
  void linkIdKnown();
  // Swallows replies the client must not see (the MULTI we send when a transaction pins).
  struct DiscardSink final : pool::ReplySink {
    void onReply(uint64_t, std::string_view) override {}
    void onError(uint64_t, pool::BackendError) override {}
  };
  struct Transaction {
    bool multi = false;      // between MULTI and EXEC/DISCARD
    bool aborted = false;    // a queued command was refused: EXEC answers EXECABORT
    bool pinned = false;     // the link carries this transaction (after WATCH or a keyed command)
    bool multiSent = false;  // the shard has seen MULTI
    std::vector<std::string> buffered;  // keyless commands before pinning (answered +QUEUED)
    uint64_t linkEpoch = 0;               // the link object and its connection when pinned
    uint64_t linkGeneration = 0;          // (see linkLost)
    std::vector<uint32_t> writes;         // stamps of keys the queued commands write (cache)
    std::vector<std::string> copyKeys;    // replicated hot keys they write (copy gate)
  };
  // Scratch for one dispatch, kept by the worker (an idle session pays nothing for it):
  // inline commands re-encoded as RESP, multi-key grouping.
  std::string& encoded();
  std::vector<size_t>& keyIndex();
  std::vector<uint32_t>& keyShard();
  std::vector<int32_t>& partOfShard();
  std::vector<uint32_t>& keysPerPart();
  void protocolError();
  uint64_t reserveSlot(uint32_t commandIndex);
  void complete(uint64_t seq, std::string_view bytes);
  void completeError(uint64_t seq, std::string_view text);
  void finishHead();
  void markDirty();
  bool overCaps() const;
  void maybeResume();
  void resumeInput();
  void keepLeftover(const char* data, size_t len);
  void appendInput(const char* data, size_t len);
  void consumeBuffered(size_t used);
  void close();

  Worker& worker_;
  boost::asio::ip::tcp::socket socket_;
  uint64_t id_;
  resp::RequestParser parser_;
  LocalState local_;
  std::unique_ptr<char[]> small_;  // target of a busy connection's pending read
  bool readingSmall_ = true;
  std::vector<char> in_;  // partial request bytes only
  size_t inLen_ = 0;
  pool::RingQueue<Slot> slots_;
  uint64_t headSeq_ = 0;
  uint64_t nextSeq_ = 0;
  std::string out_;
  size_t outSent_ = 0;
  std::unique_ptr<pool::TlsFilter> tls_;  // TLS listener: between the socket and in_/out_
  LinkIdSink linkId_;
  DiscardSink discard_;
  std::unique_ptr<pool::BackendConnection> link_;
  int64_t linkShard_ = -1;
  uint64_t linkEpoch_ = 0;  // +1 whenever link_ is replaced
  uint32_t linkTimeout_ = 0;
  Mode mode_ = Mode::Shared;
  bool waitingBarrier_ = false;
  bool blocked_ = false;  // a blocking command is outstanding; later requests wait
  bool waitingLinkId_ = false;  // a blocking command waits for its link's CLIENT ID
  bool linkIdHeld_ = false;     // ...and, once it is known, goes on that same link
  uint64_t blockedSeq_ = 0;
  Transaction txn_;
  MigrateSink migrateSink_;
  std::vector<std::string> gateKeys_;    // keys being moved for the held request
  std::vector<std::pair<uint32_t, uint32_t>> gateMoves_;  // (from, to) per MIGRATE sent
  std::string gateError_;                // first failure among them
  size_t migratesOutstanding_ = 0;
  bool gatePassed_ = false;              // the held request's keys have moved: run it
  bool heldForSnapshot_ = false;         // a moving key waits for the fenced phase to end
  uint64_t gateEpoch_ = 0;               // the snapshot epoch those moves were made for
  std::unique_ptr<PubSubState> pubsub_;  // only for sessions that ever subscribed
  std::vector<std::string> copyKeys_;    // replicated keys of the write held by copyGate
  bool copyWaiting_ = false;             // the CacheHub is deleting their copies
  bool copyGatePassed_ = false;          // ... and has: send the write
  size_t inflight_ = 0;
  Clock::time_point batchStart_;
  Clock::time_point lastActive_;
  bool readArmed_ = false;
  bool writeWaiting_ = false;
  bool inReadHandler_ = false;
  bool dirty_ = false;
  bool paused_ = false;
  bool stopReading_ = false;
  bool closeAfterFlush_ = false;
  bool closed_ = false;
  bool authenticated_ = true;  // false while auth is required and the client has not passed it

  friend class Worker;
};

}  // namespace proxy
