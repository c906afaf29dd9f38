// ClientSession on its dedicated backend connection ("link"): transactions pinned to one
// shard and blocking commands. See client_session.h for the barrier rule.
//
// A transaction, step by step:
//   1. MULTI is answered +OK locally (no shard is known yet), unless WATCH already pinned
//      the link, in which case the shard answers it.
//   2. Commands without keys are answered +QUEUED and held until a keyed command names
//      the shard (a client may wait for each +QUEUED before sending more); then MULTI and
//      the held commands go to the shard with their replies discarded, followed by that
//      command, which the shard answers itself. EXEC's result array includes them all.
//   3. A command whose keys live on another shard is refused with -CROSSSLOT and marks the
//      transaction aborted, as Redis does for queued errors; EXEC then answers -EXECABORT.
//   4. EXEC/DISCARD go to the shard; the transaction ends and the next shared command waits
//      for their replies (barrier) before it leaves.
#include <boost/asio/ip/tcp.hpp>

#include <charconv>
#include <utility>

#include "proxy/text.h"
#include "proxy/command/command_table.h"
#include "proxy/errors.h"
#include "proxy/resp/resp_writer.h"
#include "proxy/server/blocked_registry.h"
#include "proxy/server/client_session.h"
#include "proxy/server/worker.h"

namespace proxy {

namespace {
using text::ieq;
constexpr std::string_view kMulti = "*1\r\n$5\r\nMULTI\r\n";
constexpr std::string_view kDiscard = "*1\r\n$7\r\nDISCARD\r\n";
constexpr std::string_view kClientId = "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n";
constexpr std::string_view kExecAbort = "EXECABORT Transaction discarded because of previous errors.";

}  // namespace

void ClientSession::LinkIdSink::onReply(uint64_t, std::string_view frame) {
  answered = true;
  if (frame.size() >= 4 && frame[0] == ':') std::from_chars(frame.data() + 1, frame.data() + frame.size() - 2, id);
  if (owner != nullptr) owner->linkIdKnown();
}

void ClientSession::LinkIdSink::onError(uint64_t, pool::BackendError) {
  answered = true;
  if (owner != nullptr) owner->linkIdKnown();  // the held command will fail on the dead link
}

void ClientSession::linkIdKnown() {
  if (!waitingLinkId_) return;
  waitingLinkId_ = false;
  maybeResume();
}

bool ClientSession::switchMode(Mode mode) {
  if (mode_ == mode) return true;
  if (inflight_ > 0) {
    waitingBarrier_ = true;
    paused_ = true;
    return false;
  }
  mode_ = mode;
  return true;
}

// Makes the link point at `shard` (with that timeout); false = wait for in-flight requests.
bool ClientSession::useLink(uint32_t shard, uint32_t timeoutMs) {
  if (!switchMode(Mode::Link)) return false;
  const bool same = link_ && linkShard_ == static_cast<int64_t>(shard) && linkTimeout_ == timeoutMs;
  if (same && link_->usable()) return true;
  if (link_ && inflight_ > 0) {
    waitingBarrier_ = true;
    paused_ = true;
    return false;
  }
  link_ = worker_.makeLink(shard, timeoutMs);
  ++linkEpoch_;
  linkShard_ = shard;
  linkTimeout_ = timeoutMs;
  linkId_.owner = this;
  linkId_.id = -1;
  linkId_.answered = false;
  link_->send(kClientId, &linkId_, 0);
  return true;
}

std::optional<uint64_t> ClientSession::sendLink(uint32_t index, std::string_view frame) {
  const uint64_t seq = reserveSlot(index);
  slots_.at(static_cast<size_t>(seq - headSeq_)).shard = static_cast<uint32_t>(linkShard_);
  auto error = link_->send(requestBytes(frame), this, seq);
  if (!error) {
    ++inflight_;
    return seq;
  }
  completeError(seq, backendErrorText(worker_.shardName(static_cast<uint32_t>(linkShard_)), *error));
  return std::nullopt;
}

// The one shard all keys of this request live on; nullopt when it names no key.
std::optional<uint32_t> ClientSession::keysShard(const cmd::CommandSpec& spec, bool& crossSlot) {
  crossSlot = false;
  keyIndex().clear();
  if (spec.firstKey == 0 && spec.numKeysIndex == 0 && !spec.has(cmd::MovableKeys)) return std::nullopt;
  if (!cmd::keyIndices(spec, parser_.argc(), [this](size_t i) { return parser_.arg(i); }, keyIndex()) ||
      keyIndex().empty()) {
    return std::nullopt;
  }
  const RoutingSnapshot& snap = worker_.snapshot();
  const uint32_t shard = snap.ownerOf(parser_.arg(keyIndex()[0]));
  for (size_t i = 1; i < keyIndex().size(); ++i) {
    if (snap.ownerOf(parser_.arg(keyIndex()[i])) != shard) crossSlot = true;
  }
  return shard;
}

bool ClientSession::dispatchTransaction(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame) {
  const std::string_view name = spec.name;
  if (name == "exec") return dispatchExec(index, frame);
  if (name == "multi") {
    if (txn_.multi) return completeError(reserveSlot(index), "ERR MULTI calls can not be nested"), true;
    if (txn_.pinned) {
      if (!useLink(static_cast<uint32_t>(linkShard_), worker_.snapshot().config->backend.timeoutMs)) return false;
      sendLink(index, frame);
      txn_.multiSent = true;
    } else {
      complete(reserveSlot(index), "+OK\r\n");
    }
    txn_.multi = true;
    txn_.aborted = false;
    return true;
  }
  if (name == "discard") {
    if (!txn_.multi) return completeError(reserveSlot(index), "ERR DISCARD without MULTI"), true;
    if (txn_.multiSent) {
      sendLink(index, frame);
    } else {
      complete(reserveSlot(index), "+OK\r\n");
    }
    endTransaction();
    return true;
  }
  if (txn_.multi) return dispatchInMulti(spec, index, frame);  // WATCH/UNWATCH inside MULTI
  bool cross = false;
  const std::optional<uint32_t> shard = keysShard(spec, cross);
  if (name == "unwatch" || !shard) {
    if (!txn_.pinned) return complete(reserveSlot(index), "+OK\r\n"), true;
    if (!switchMode(Mode::Link)) return false;
    sendLink(index, frame);
    endTransaction();
    return true;
  }
  if (cross || (txn_.pinned && *shard != linkShard_)) return completeError(reserveSlot(index), errors::kCrossSlot), true;
  if (!useLink(*shard, worker_.snapshot().config->backend.timeoutMs)) return false;
  if (linkLost()) {
    // The connection that carried an earlier WATCH dropped: that WATCH is gone, and the
    // shard would run EXEC without it. Fail now; the client can start over.
    completeError(reserveSlot(index), errors::transactionLinkLost(worker_.shardName(*shard)));
    endTransaction();
    return true;
  }
  if (!txn_.pinned) pinLink();
  sendLink(index, frame);
  return true;
}

bool ClientSession::dispatchInMulti(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame) {
  const cmd::Strategy st = spec.strategy;
  if (st == cmd::Strategy::Keyspace || st == cmd::Strategy::Broadcast || st == cmd::Strategy::PubSub ||
      spec.name == "watch") {
    txn_.aborted = true;
    const std::string text = spec.name == "watch" ? std::string("ERR WATCH inside MULTI is not allowed")
                                                  : errors::notInTransaction(spec.name);
    return completeError(reserveSlot(index), text), true;
  }
  bool cross = false;
  const std::optional<uint32_t> shard = keysShard(spec, cross);
  if (cross || (shard && txn_.pinned && *shard != linkShard_)) {
    txn_.aborted = true;
    return completeError(reserveSlot(index), errors::kCrossSlot), true;
  }
  if (!txn_.pinned && !shard) {
    txn_.buffered.emplace_back(requestBytes(frame));
    complete(reserveSlot(index), "+QUEUED\r\n");
    return true;
  }
  if (!txn_.pinned && !pinTransaction(*shard)) return false;
  if (!switchMode(Mode::Link)) return false;
  if (linkLost()) {
    // MULTI (and any WATCH) went with the old connection: on the new one this command
    // would run at once instead of at EXEC. Refuse it; EXEC then answers EXECABORT.
    txn_.aborted = true;
    return completeError(reserveSlot(index), errors::transactionLinkLost(worker_.shardName(*shard))), true;
  }
  sendLink(index, frame);
  return true;
}

// The transaction's first keyed command chose `shard`: open MULTI there and send what
// was held back.
bool ClientSession::pinTransaction(uint32_t shard) {
  if (!useLink(shard, worker_.snapshot().config->backend.timeoutMs)) return false;
  pinLink();
  if (!txn_.multiSent) {
    link_->send(kMulti, &discard_, 0);
    txn_.multiSent = true;
  }
  for (const std::string& bytes : txn_.buffered) link_->send(bytes, &discard_, 0);
  txn_.buffered.clear();
  return true;
}

bool ClientSession::dispatchExec(uint32_t index, std::string_view frame) {
  if (!txn_.multi) return completeError(reserveSlot(index), "ERR EXEC without MULTI"), true;
  if (txn_.aborted) {
    if (txn_.multiSent && link_) link_->send(kDiscard, &discard_, 0);
    completeError(reserveSlot(index), kExecAbort);
    endTransaction();
    return true;
  }
  if (!txn_.multiSent && txn_.buffered.empty()) {
    complete(reserveSlot(index), "*0\r\n");  // an empty transaction, as Redis answers it
    endTransaction();
    return true;
  }
  // Only keyless commands: any shard.
  if (!txn_.pinned && !pinTransaction(worker_.snapshot().firstShard())) return false;
  if (!switchMode(Mode::Link)) return false;
  if (linkLost()) {
    completeError(reserveSlot(index), errors::transactionLinkLost(worker_.shardName(static_cast<uint32_t>(linkShard_))));
  } else {
    sendLink(index, frame);
  }
  endTransaction();
  return true;
}

void ClientSession::endTransaction() { txn_ = Transaction{}; }

void ClientSession::pinLink() {
  txn_.pinned = true;
  txn_.linkEpoch = linkEpoch_;
  txn_.linkGeneration = link_->generation();
}

// The link the transaction is pinned to is not the connection it was pinned on any more
// (it dropped and reconnected by itself, or a new link replaced it): WATCH and MULTI on
// the shard are gone.
bool ClientSession::linkLost() const {
  return txn_.pinned && (!link_ || linkEpoch_ != txn_.linkEpoch || link_->generation() != txn_.linkGeneration);
}

// BLPOP & co. hold a connection for as long as they block: they get the link, without a
// timeout shorter than their own, and the client's later requests wait behind them.
bool ClientSession::dispatchBlocking(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame) {
  if (spec.name == "xread" || spec.name == "xreadgroup") {
    bool block = false;
    for (size_t i = 1; i < parser_.argc() && !block; ++i) block = ieq(parser_.arg(i), "block");
    if (!block) return dispatchShared(spec, index, frame);
  }
  if (txn_.multi) return dispatchInMulti(spec, index, frame);  // not blocking inside MULTI
  bool cross = false;
  const std::optional<uint32_t> shard = keysShard(spec, cross);
  if (cross) return completeError(reserveSlot(index), errors::kCrossSlot), true;
  const uint32_t target = shard.value_or(worker_.snapshot().firstShard());
  // Held for this link's CLIENT ID and now dispatched again: the command goes on that link
  // even if it died meanwhile, and then fails with the link's error, like any command on a
  // lost connection. Asking useLink() would open a fresh link instead, and when the shard
  // is down, or drops the connection on CLIENT ID, that repeats forever: a new connection
  // and CLIENT ID per turn, and the client never gets a reply.
  const bool resumed = std::exchange(linkIdHeld_, false) && link_ && mode_ == Mode::Link &&
                       linkShard_ == static_cast<int64_t>(target) && linkTimeout_ == 0;
  if (!resumed && !useLink(target, 0)) return false;
  if (!linkId_.answered && link_->usable()) {
    // Until the shard told us this connection's id, CLIENT UNBLOCK could not reach it:
    // hold the command (one round trip, only on a new dedicated connection). A shard that
    // refuses CLIENT ID (ACL, renamed command) answers too: then the command runs
    // without CLIENT UNBLOCK support rather than wait forever.
    waitingLinkId_ = true;
    linkIdHeld_ = true;
    paused_ = true;
    return false;
  }
  if (const std::optional<uint64_t> seq = sendLink(index, frame)) {
    blockedSeq_ = *seq;
    blocked_ = true;
    if (linkId_.id >= 0) BlockedRegistry::instance().add(id_, {static_cast<uint32_t>(linkShard_), linkId_.id});
  }
  return true;
}

// CLIENT UNBLOCK <proxy client id> [TIMEOUT|ERROR]: the blocked client's link has its own id
// on its shard; the unblock goes there.
bool ClientSession::clientUnblock(uint32_t index) {
  uint64_t target = 0;
  const std::string_view idArg = parser_.arg(2);
  if (std::from_chars(idArg.data(), idArg.data() + idArg.size(), target).ec != std::errc()) {
    return completeError(reserveSlot(index), errors::kNotInteger), true;
  }
  const auto entry = BlockedRegistry::instance().find(target);
  if (!entry || entry->backendClientId < 0) return complete(reserveSlot(index), ":0\r\n"), true;
  if (!switchMode(Mode::Shared)) return false;
  std::string cmd;
  resp::appendArrayHeader(cmd, parser_.argc());
  resp::appendBulk(cmd, "CLIENT");
  resp::appendBulk(cmd, "UNBLOCK");
  resp::appendBulk(cmd, std::to_string(entry->backendClientId));
  if (parser_.argc() > 3) resp::appendBulk(cmd, parser_.arg(3));
  forwardBytes(entry->shard, index, cmd);
  return true;
}

}  // namespace proxy
