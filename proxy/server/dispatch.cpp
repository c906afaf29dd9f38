// ClientSession's dispatcher: one parsed request -> the strategy its command table entry
// names (local answer, one shard, one sub-command per shard, every shard, CROSSSLOT...).
// Single-shard commands forward the client's original frame bytes.
#include <boost/asio/ip/tcp.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "proxy/text.h"
#include "proxy/command/command_table.h"
#include "proxy/errors.h"
#include "proxy/resp/resp_writer.h"
#include "proxy/server/client_session.h"
#include "proxy/server/blocked_registry.h"
#include "proxy/server/command_policy.h"
#include "proxy/server/info_reply.h"
#include "proxy/server/worker.h"

namespace proxy {

namespace {
using text::ieq;

std::string errorFrame(std::string_view text) {
  std::string f;
  resp::appendError(f, text);
  return f;
}
}  // namespace

bool ClientSession::dispatch(std::string_view frame) {
  // What a held request of another session left must not reach this one's slot.
  worker_.cacheScratch().pendingWrites.clear();
  worker_.cacheScratch().pendingCopyWrites.clear();
  const cmd::CommandSpec* spec = cmd::lookup(parser_.arg(0));
  const auto unknownIndex = static_cast<uint32_t>(worker_.cells().commandCount());
  if (spec == nullptr) {
    worker_.cells().countRequest(unknownIndex);
    std::string_view args[16];
    const size_t n = std::min<size_t>(parser_.argc() - 1, 16);
    for (size_t i = 0; i < n; ++i) args[i] = parser_.arg(i + 1);
    if (txn_.multi) txn_.aborted = true;  // Redis flags the transaction on a refused command
    completeError(reserveSlot(unknownIndex), errors::unknownCommand(parser_.arg(0), args, n));
    return true;
  }
  const auto index = static_cast<uint32_t>(spec - cmd::allCommands().data());
  if (!cmd::arityOk(*spec, parser_.argc())) {
    worker_.cells().countRequest(index);
    if (txn_.multi) txn_.aborted = true;
    completeError(reserveSlot(index), errors::wrongArity(spec->name));
    return true;
  }
  if (authGate(*spec, index)) return worker_.cells().countRequest(index), true;
  if (deniedByPolicy(*spec, index)) return worker_.cells().countRequest(index), true;
  if (worker_.snapshot().previous || gatePassed_) {
    const Gate gate = migrationGate(*spec, index);
    if (gate == Gate::Wait) return false;
    if (gate == Gate::Answered) return worker_.cells().countRequest(index), true;
  }
  noteWrites(*spec);
  if (!copyGate(*spec)) return false;
  bool done = true;
  if (spec->name == "reset") {
    resetSession(index);
  } else if (pubsub_ && pubsub_->active) {
    done = dispatchInPubSubMode(*spec, index, frame);
  } else if (spec->strategy == cmd::Strategy::PubSub) {
    done = dispatchPubSub(*spec, index, frame);
  } else if (spec->strategy == cmd::Strategy::Transaction) {
    done = dispatchTransaction(*spec, index, frame);
  } else if (spec->strategy == cmd::Strategy::Blocking) {
    done = dispatchBlocking(*spec, index, frame);
  } else if (txn_.multi) {
    done = dispatchInMulti(*spec, index, frame);
  } else if (spec->name == "client" && parser_.argc() >= 3 && ieq(parser_.arg(1), "unblock")) {
    done = clientUnblock(index);
  } else {
    done = dispatchShared(*spec, index, frame);
  }
  if (done) worker_.cells().countRequest(index);  // a request held by a barrier counts once
  if (!done && !worker_.cacheScratch().pendingCopyWrites.empty()) {
    // Held by a barrier after copyGate let it through: it passes again next time.
    copyKeys_.swap(worker_.cacheScratch().pendingCopyWrites);
    copyGatePassed_ = true;
  }
  return done;
}

// Strategies served by the worker's shared connections (or locally).
bool ClientSession::dispatchShared(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame) {
  if (spec.strategy == cmd::Strategy::Local) {
    runLocal(spec, index, frame);
    return true;
  }
  if (!switchMode(Mode::Shared)) return false;
  switch (spec.strategy) {
    case cmd::Strategy::SingleKey: forwardSingle(spec, index, frame); break;
    case cmd::Strategy::Fanout: forwardMultiKey(spec, index, frame); break;
    case cmd::Strategy::CoLocated:
    case cmd::Strategy::NumKeys:
    case cmd::Strategy::Blocking: forwardCoLocated(spec, index, frame); break;
    case cmd::Strategy::Keyspace: forwardKeyspace(spec, index); break;
    case cmd::Strategy::Broadcast: forwardBroadcast(spec, index, frame); break;
    default: completeError(reserveSlot(index), errors::notSupported(spec.name)); break;
  }
  return true;
}

bool ClientSession::deniedByPolicy(const cmd::CommandSpec&, uint32_t index) {
  const std::string entry = worker_.policy().denied(index, parser_.argc() > 1 ? parser_.arg(1) : std::string_view());
  if (entry.empty()) return false;
  completeError(reserveSlot(index), deniedText(entry));
  return true;
}

// RESET, as Redis does it: leave a transaction (the shard discards it), stop watching,
// leave subscribed mode, forget the name, and authenticate again if auth is required.
void ClientSession::resetSession(uint32_t index) {
  if (txn_.multiSent && link_) link_->send("*1\r\n$7\r\nDISCARD\r\n", &discard_, 0);
  if (txn_.pinned && link_) link_->send("*1\r\n$7\r\nUNWATCH\r\n", &discard_, 0);
  endTransaction();
  if (pubsub_ && pubsub_->active) {
    for (PendingSubscription& p : pubsub_->pending) complete(p.seq, p.reply);
    pubsub_->pending.clear();
    pubsub_->channels.clear();
    pubsub_->patterns.clear();
    pubsub_->shardChannels.clear();
    pubsub_->active = false;
    leavePubSubIfEmpty();
  }
  local_.name.clear();
  authenticated_ = !worker_.authenticator().required();
  parser_.setAuthenticated(authenticated_);
  complete(reserveSlot(index), "+RESET\r\n");
}

// Returns true when the request was answered here: AUTH itself, HELLO with AUTH, or any
// command of a client that still has to authenticate (Redis lets only AUTH, HELLO and
// QUIT through then).
bool ClientSession::authGate(const cmd::CommandSpec& spec, uint32_t index) {
  if (spec.name == "auth") return authCommand(index), true;
  if (spec.name == "hello") return helloAuth(index);
  if (authenticated_ || spec.name == "quit") return false;
  completeError(reserveSlot(index), kNoAuth);
  return true;
}

void ClientSession::authCommand(uint32_t index) {
  const Authenticator& auth = worker_.authenticator();
  if (!auth.required()) return completeError(reserveSlot(index), kAuthNotConfigured);
  if (parser_.argc() > 3) return completeError(reserveSlot(index), errors::kSyntax);
  const bool ok = parser_.argc() == 2 ? auth.check({}, parser_.arg(1)) : auth.check(parser_.arg(1), parser_.arg(2));
  if (!ok) return completeError(reserveSlot(index), kWrongPass);
  authenticated_ = true;
  parser_.setAuthenticated(true);
  complete(reserveSlot(index), "+OK\r\n");
}

// HELLO [protover [AUTH user pass] [SETNAME name]]: checks the credentials here; the rest
// of HELLO is answered by the local handler. False = let it through.
bool ClientSession::helloAuth(uint32_t index) {
  size_t at = 0;
  for (size_t i = 2; i + 2 < parser_.argc(); ++i) {
    if (ieq(parser_.arg(i), "auth")) at = i;
  }
  if (at == 0) {
    if (authenticated_) return false;
    completeError(reserveSlot(index), kHelloNoAuth);
    return true;
  }
  if (!worker_.authenticator().required()) return false;  // like nopass: any credentials pass
  if (!worker_.authenticator().check(parser_.arg(at + 1), parser_.arg(at + 2))) {
    completeError(reserveSlot(index), kWrongPass);
    return true;
  }
  authenticated_ = true;
  parser_.setAuthenticated(true);
  return false;
}

// Inline requests are not RESP; shards get the same command re-encoded.
std::string_view ClientSession::requestBytes(std::string_view frame) {
  if (!parser_.isInline()) return frame;
  encoded().clear();
  resp::appendArrayHeader(encoded(), parser_.argc());
  for (size_t i = 0; i < parser_.argc(); ++i) resp::appendBulk(encoded(), parser_.arg(i));
  return encoded();
}

void ClientSession::forwardToShard(uint32_t shard, uint32_t index, std::string_view frame) {
  forwardBytes(shard, index, requestBytes(frame));
}

void ClientSession::forwardBytes(uint32_t shard, uint32_t index, std::string_view bytes) {
  const uint64_t seq = reserveSlot(index);
  slots_.at(static_cast<size_t>(seq - headSeq_)).shard = shard;
  auto error = worker_.backend(shard, id_).send(bytes, this, seq);
  if (!error) {
    ++inflight_;
    return;
  }
  completeError(seq, backendErrorText(worker_.shardName(shard), *error));
}

void ClientSession::forwardSingle(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame) {
  const auto first = static_cast<size_t>(spec.firstKey);
  // Keyless forms of keyed commands (OBJECT HELP, MEMORY STATS) go to the first shard.
  const RoutingSnapshot& snap = worker_.snapshot();
  const uint32_t shard = first < parser_.argc() ? snap.ownerOf(parser_.arg(first)) : snap.firstShard();
  if (worker_.cache().counting() && readThroughCache(spec, index, frame, shard)) return;
  forwardToShard(shard, index, frame);
}

void ClientSession::startFanout(Fanout* fanout) {
  for (size_t p = 0; p < fanout->partCount(); ++p) {
    FanoutPart& part = fanout->part(p);
    auto error = worker_.backend(part.shard, id_).send(part.command, fanout, p);
    if (error) fanout->failPart(p, errorFrame(backendErrorText(*part.shardName, *error)));
  }
  ++inflight_;  // before sealed(): it may complete at once
  fanout->sealed();
}

// MGET, MSET, DEL, EXISTS, UNLINK, TOUCH: keys grouped per shard, one sub-command each.
void ClientSession::forwardMultiKey(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame) {
  const RoutingSnapshot& snap = worker_.snapshot();
  const size_t step = static_cast<size_t>(std::max<int16_t>(1, spec.keyStep));
  if ((parser_.argc() - 1) % step != 0) return completeError(reserveSlot(index), errors::wrongArity(spec.name));
  const size_t keys = (parser_.argc() - 1) / step;
  keyShard().resize(keys);
  for (size_t k = 0; k < keys; ++k) keyShard()[k] = snap.ownerOf(parser_.arg(1 + k * step));
  // MGET: keys the L1 cache holds are answered from it, the rest fetched (cache_route.cpp).
  const size_t hits = spec.name == "mget" ? lookupMget(keys) : 0;
  Worker::CacheScratch& scratch = worker_.cacheScratch();
  const auto cached = [&](size_t k) { return hits > 0 && scratch.mgetHit[k] != 0; };
  if (hits == keys) {
    std::string reply;
    resp::appendArrayHeader(reply, keys);
    reply.append(scratch.mgetCached);
    return complete(reserveSlot(index), reply);
  }
  bool oneShard = true;
  int64_t firstShard = -1;
  for (size_t k = 0; k < keys; ++k) {
    if (cached(k)) continue;
    if (firstShard < 0) firstShard = keyShard()[k];
    oneShard = oneShard && keyShard()[k] == firstShard;
  }
  if (oneShard && hits == 0) return forwardToShard(keyShard()[0], index, frame);  // the frame as sent

  const Merge merge = spec.name == "mget" ? Merge::ArrayInOrder : spec.name == "mset" ? Merge::AllOk
                                                                                     : Merge::SumIntegers;
  Fanout* fanout = worker_.fanouts().acquire(*this, reserveSlot(index), merge);
  partOfShard().assign(snap.ring->shards().size(), -1);
  keysPerPart().clear();
  size_t nextCached = 0;
  for (size_t k = 0; k < keys; ++k) {
    if (cached(k)) {
      const auto [offset, length] = scratch.mgetSpans[nextCached++];
      fanout->addCached(std::string_view(scratch.mgetCached).substr(offset, length));
      continue;
    }
    int32_t& p = partOfShard()[keyShard()[k]];
    if (p < 0) {
      p = static_cast<int32_t>(fanout->partCount());
      fanout->addPart(keyShard()[k], worker_.shardName(keyShard()[k]));
      keysPerPart().push_back(0);
    }
    if (merge == Merge::ArrayInOrder) fanout->order().emplace_back(p, keysPerPart()[p]);
    ++keysPerPart()[p];
  }
  for (size_t p = 0; p < fanout->partCount(); ++p) {
    std::string& cmd = fanout->part(p).command;
    resp::appendArrayHeader(cmd, 1 + keysPerPart()[p] * step);
    resp::appendBulk(cmd, spec.name);
  }
  for (size_t k = 0; k < keys; ++k) {
    if (cached(k)) continue;
    std::string& cmd = fanout->part(partOfShard()[keyShard()[k]]).command;
    for (size_t j = 0; j < step; ++j) resp::appendBulk(cmd, parser_.arg(1 + k * step + j));
  }
  startFanout(fanout);
}

// Several keys in one atomic command: they must all live on one shard (hash tags make
// that possible). EVAL/FCALL with no keys go to the shard their script/function name
// hashes to, so the same script always runs in the same place.
void ClientSession::forwardCoLocated(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame) {
  const RoutingSnapshot& snap = worker_.snapshot();
  keyIndex().clear();
  const bool ok = cmd::keyIndices(spec, parser_.argc(), [this](size_t i) { return parser_.arg(i); }, keyIndex());
  if (!ok || keyIndex().empty()) {
    // Malformed numkeys and the like: the shard answers with Redis's own error.
    return forwardToShard(snap.ownerOf(parser_.argc() > 1 ? parser_.arg(1) : parser_.arg(0)), index, frame);
  }
  const uint32_t shard = snap.ownerOf(parser_.arg(keyIndex()[0]));
  for (size_t i = 1; i < keyIndex().size(); ++i) {
    if (snap.ownerOf(parser_.arg(keyIndex()[i])) != shard) {
      return completeError(reserveSlot(index), errors::kCrossSlot);
    }
  }
  forwardToShard(shard, index, frame);
}

// The same command (arguments from `firstArg` on, with the name) to every shard.
void ClientSession::forwardAllShards(uint32_t index, Merge merge, size_t firstArg) {
  const size_t shards = worker_.snapshot().ring->shards().size();
  Fanout* fanout = worker_.fanouts().acquire(*this, reserveSlot(index), merge);
  std::string command;
  resp::appendArrayHeader(command, parser_.argc() - firstArg);
  for (size_t i = firstArg; i < parser_.argc(); ++i) resp::appendBulk(command, parser_.arg(i));
  for (uint32_t s = 0; s < shards; ++s) fanout->addPart(s, worker_.shardName(s)).command = command;
  fanout->setStart(worker_.nextRotation() % shards);
  startFanout(fanout);
}

void ClientSession::forwardKeyspace(const cmd::CommandSpec& spec, uint32_t index) {
  if (spec.name == "scan") return forwardScan(index);
  if (spec.name == "dbsize") return forwardAllShards(index, Merge::SumIntegers);
  if (spec.name == "keys") return forwardAllShards(index, Merge::ArrayConcat);
  if (spec.name == "randomkey") return forwardAllShards(index, Merge::AnyNonNil);
  if (spec.name == "flushdb" || spec.name == "flushall") return forwardAllShards(index, Merge::AllOk);
  completeError(reserveSlot(index), errors::notSupported(spec.name));
}

// SCAN: the client's cursor is (shard cursor << 10) | shard index; shards in order.
void ClientSession::forwardScan(uint32_t index) {
  const size_t shards = worker_.snapshot().ring->shards().size();
  uint64_t cursor = 0;
  const std::string_view c = parser_.arg(1);
  if (std::from_chars(c.data(), c.data() + c.size(), cursor).ec != std::errc() ||
      (cursor & kScanShardMask) >= shards) {
    return completeError(reserveSlot(index), "ERR invalid cursor");
  }
  const auto shard = static_cast<uint32_t>(cursor & kScanShardMask);
  Fanout* fanout = worker_.fanouts().acquire(*this, reserveSlot(index), Merge::Scan);
  fanout->setScan(shard, static_cast<uint32_t>(shards));
  FanoutPart& part = fanout->addPart(shard, worker_.shardName(shard));
  resp::appendArrayHeader(part.command, parser_.argc());
  resp::appendBulk(part.command, "scan");
  resp::appendBulk(part.command, std::to_string(cursor >> kScanShardBits));
  for (size_t i = 2; i < parser_.argc(); ++i) resp::appendBulk(part.command, parser_.arg(i));
  startFanout(fanout);
}

// SCRIPT and FUNCTION management reaches every shard so EVALSHA/FCALL work wherever a key
// lives; read-only subcommands are answered by the first shard.
void ClientSession::forwardBroadcast(const cmd::CommandSpec&, uint32_t index, std::string_view frame) {
  const std::string sub = text::lower(parser_.arg(1));
  if (sub == "exists") return forwardAllShards(index, Merge::ArrayAnd);
  if (sub == "flush") return forwardAllShards(index, Merge::AllOk);
  if (sub == "list" || sub == "dump" || sub == "stats" || sub == "help") {
    return forwardToShard(worker_.snapshot().firstShard(), index, frame);
  }
  forwardAllShards(index, Merge::SameReply);
}

// INFO's keyspace section is the sum of every shard's db0. It reads, so it needs no
// connection-switch barrier: its reply still leaves in order through the FIFO.
void ClientSession::forwardInfoKeyspace(uint32_t index, std::string prefix) {
  const size_t shards = worker_.snapshot().ring->shards().size();
  Fanout* fanout = worker_.fanouts().acquire(*this, reserveSlot(index), Merge::InfoKeyspace);
  fanout->setPrefix(std::move(prefix));
  for (uint32_t s = 0; s < shards; ++s) {
    fanout->addPart(s, worker_.shardName(s)).command = "*2\r\n$4\r\nINFO\r\n$8\r\nkeyspace\r\n";
  }
  startFanout(fanout);
}

void ClientSession::runLocal(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame) {
  if (spec.name == "config" && parser_.argc() > 1 && !ieq(parser_.arg(1), "get")) {
    // Allowed by policy (else it was refused before): applies to every shard.
    if (ieq(parser_.arg(1), "set") || ieq(parser_.arg(1), "resetstat")) return forwardAllShards(index, Merge::AllOk);
  }
  LocalArgs args{parser_.argc(), [this](size_t i) { return parser_.arg(i); }};
  if (spec.name == "config" && ieq(parser_.arg(1), "get") && !configGetIsLocal(args)) {
    return forwardToShard(worker_.snapshot().firstShard(), index, frame);  // e.g. CONFIG GET hz
  }
  const ProcessStats& ps = worker_.processStats();
  LocalInfo info;
  info.shardCount = worker_.snapshot().ring->shards().size();
  info.workerCount = ps.workers;
  info.connectedClients = ps.connectedClients();
  info.blockedClients = BlockedRegistry::instance().size();
  info.totalConnections = ps.totalConnections.load(std::memory_order_relaxed);
  info.uptimeSeconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now() - ps.start).count();
  info.processId = ::getpid();
  info.tcpPort = ps.port;
  info.version = "0.1.0";
  if (ps.migration != nullptr) info.migrationLines = ps.migration->info();
  if (ps.cacheInfo) info.cacheLines = ps.cacheInfo(*worker_.snapshot().config);
  if (ps.hotkeyInfo) info.hotkeyLines = ps.hotkeyInfo();
  if (spec.name == "info") {
    info.totalCommands = ps.totalCommands();
    InfoBody body = infoBody(info, args);
    if (body.keyspaceRequested) return forwardInfoKeyspace(index, std::move(body.text));
    std::string reply;
    resp::appendBulk(reply, body.text);
    return complete(reserveSlot(index), reply);
  }
  std::string reply;
  const LocalAction action = runLocalCommand(args, local_, info, reply);
  complete(reserveSlot(index), reply);
  if (action == LocalAction::ReplyThenClose) {
    stopReading_ = true;
    closeAfterFlush_ = true;
  }
}

}  // namespace proxy
