// ClientSession's side of hot-key replication (hot_key_replication; the copies themselves
// are written and deleted by the CacheHub's replicator, see cache_hub.h):
//   - a GET of a replicated key that the L1 cache does not answer goes, in turn, to its
//     owner or to one of its copies (`GET __ringproxy:hot:<key>` on the worker's connection
//     to that shard's reserved database, cluster.db); a missing copy (nil)
//     or a failed read falls back to the owner and asks the hub for a refill;
//   - a write to a replicated key waits, unread, until the hub has deleted its copies, and
//     tells the hub when it was answered, so no copy is refilled with a value older than it;
//     inside MULTI the keys of queued writes are collected and EXEC is what waits.
#include "proxy/cache/write_stamps.h"
#include "proxy/command/command_table.h"
#include "proxy/errors.h"
#include "proxy/resp/resp_writer.h"
#include "proxy/server/cache_hub.h"
#include "proxy/server/client_session.h"
#include "proxy/server/hot_replicas.h"
#include "proxy/server/worker.h"

namespace proxy {

namespace {
constexpr uint64_t kCopyTag = 1ull << 61;
constexpr uint64_t kSeqMask = (1ull << 61) - 1;

std::string getFrame(std::string_view key) {
  const std::string_view args[] = {"GET", key};
  std::string f;
  resp::appendCommand(f, args);
  return f;
}
}  // namespace

bool ClientSession::readCopy(uint32_t index, std::string_view key, uint32_t owner) {
  const HotSet* hot = worker_.cache().hotSet();
  const RoutingSnapshot& snap = worker_.snapshot();
  // No copies while keys move between shards (a migration, or a shard ejected).
  const bool moving = snap.previous || snap.ejectedRing;
  if (hot == nullptr || worker_.cacheHub() == nullptr || moving || !hot->isReplicated(key)) return false;
  const config::ProxyConfig& cfg = *snap.config;
  const std::vector<uint32_t> copies = replicaShards(*snap.ring, key, owner, cfg.hotKeyReplication.replicas);
  const size_t pick = worker_.nextRotation() % (copies.size() + 1);
  if (pick == copies.size()) return false;  // the owner's turn: the usual path
  const uint32_t target = copies[pick];
  const uint64_t seq = reserveSlot(index);
  Slot& s = slots_.at(static_cast<size_t>(seq - headSeq_));
  s.shard = target;
  s.data.assign(key);  // for the fallback; replaced by the reply when it completes
  if (worker_.copyBackend(target).send(getFrame(copyKey(key)), this, seq | kCopyTag)) {
    copyReply(seq, {}, true);  // not sent (overloaded or down): the owner answers instead
    return true;
  }
  ++inflight_;
  return true;
}

// The copy's reply, or its failure: a value answers; nil or a failure asks the owner.
void ClientSession::copyReply(uint64_t tagged, std::string_view frame, bool failed) {
  const uint64_t seq = tagged & kSeqMask;
  if (seq < headSeq_ || seq >= nextSeq_) return;
  Slot& s = slots_.at(static_cast<size_t>(seq - headSeq_));
  if (s.done) return;
  if (!failed && frame != "$-1\r\n") return complete(seq, frame);
  const std::string key = s.data;
  s.data.clear();
  if (!failed && worker_.cacheHub() != nullptr) worker_.cacheHub()->requestRefill(key);
  const uint32_t owner = worker_.snapshot().ownerOf(key);
  s.shard = owner;
  if (auto error = worker_.backend(owner, id_).send(getFrame(key), this, seq)) {
    return completeError(seq, backendErrorText(worker_.shardName(owner), *error));
  }
  ++inflight_;
}

bool ClientSession::copyGate(const cmd::CommandSpec& spec) {
  if (copyGatePassed_) {
    copyGatePassed_ = false;
    worker_.cacheScratch().pendingCopyWrites.swap(copyKeys_);
    copyKeys_.clear();
    return true;
  }
  const HotSet* hot = worker_.cache().hotSet();
  if (hot == nullptr || hot->replicated.empty() || worker_.cacheHub() == nullptr || spec.has(cmd::ReadOnly)) {
    return true;
  }
  copyKeys_.clear();
  if (spec.name == "exec") {
    // The queued writes run now: their copies go before EXEC is sent (a queued command
    // is only answered QUEUED, so it cannot hold the gate itself).
    copyKeys_ = txn_.copyKeys;  // a copy: EXEC may pass through here again (barriers)
  } else {
    keyIndex().clear();
    if (!cmd::keyIndices(spec, parser_.argc(), [this](size_t i) { return parser_.arg(i); }, keyIndex())) return true;
    for (size_t i : keyIndex()) {
      if (hot->isReplicated(parser_.arg(i))) copyKeys_.emplace_back(parser_.arg(i));
    }
    if (txn_.multi) {
      txn_.copyKeys.insert(txn_.copyKeys.end(), copyKeys_.begin(), copyKeys_.end());
      copyKeys_.clear();
    }
  }
  if (copyKeys_.empty()) return true;
  copyWaiting_ = true;
  paused_ = true;
  std::weak_ptr<ClientSession> weak = weak_from_this();
  CacheHub* hub = worker_.cacheHub();  // outlives the workers (Server)
  worker_.cacheHub()->beginWrite(copyKeys_, &worker_, [weak, hub, keys = copyKeys_]() mutable {
    if (auto self = weak.lock()) return self->copiesDeleted();
    hub->endWrite(std::move(keys));  // the session is gone: its write will never be sent
  });
  return false;
}

void ClientSession::copiesDeleted() {
  copyWaiting_ = false;
  if (closed_) return endCopyWrites(copyKeys_);  // the write will never be sent
  copyGatePassed_ = true;
  maybeResume();
}

void ClientSession::endCopyWrites(std::vector<std::string>& keys) {
  if (!keys.empty() && worker_.cacheHub() != nullptr) worker_.cacheHub()->endWrite(std::move(keys));
  keys.clear();
}

}  // namespace proxy
