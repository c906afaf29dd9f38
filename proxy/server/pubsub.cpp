// ClientSession's pub/sub: SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE and their UNs, PUBLISH, PUBSUB.
//
// How one client's subscriptions map onto shards:
//   1. A channel lives on the shard its name hashes to (hash tags apply); a pattern can
//      match channels anywhere, so it is subscribed on every shard.
//   2. Each shard gets one dedicated connection for this session, created on first use.
//   3. The client sees a confirmation only after the shard(s) confirmed (for a pattern:
//      all of them), so a message published right after the client saw it is not missed.
//      Counts come from this session's own sets: several shards look like one server.
//   4. Messages are forwarded as the shard sent them, straight into the output.
//   5. A lost pub/sub connection closes the client, as a lost Redis would: the client's
//      reconnect logic resubscribes.
#include <boost/asio.hpp>

#include <cctype>

#include "proxy/text.h"
#include "proxy/command/command_table.h"
#include "proxy/errors.h"
#include "proxy/log.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/resp_writer.h"
#include "proxy/server/client_session.h"
#include "proxy/server/worker.h"

namespace proxy {

namespace {
using text::lower;

// The payload of a bulk string element ("$3\r\nabc\r\n" -> "abc"); empty for nil.
std::string_view bulkValue(std::string_view element) {
  const size_t header = element.find("\r\n");
  if (element.empty() || element[0] != '$' || header == std::string_view::npos) return {};
  if (element.size() < header + 4) return {};
  return element.substr(header + 2, element.size() - header - 4);
}

std::string confirmation(std::string_view kind, std::string_view name, size_t count, bool nil = false) {
  std::string out;
  resp::appendArrayHeader(out, 3);
  resp::appendBulk(out, kind);
  if (nil) resp::appendNullBulk(out);
  else resp::appendBulk(out, name);
  resp::appendInteger(out, static_cast<int64_t>(count));
  return out;
}
}  // namespace

// A sink whose session is null belongs to connections being torn down: late frames drop.
void PubSubLinkSink::onReply(uint64_t, std::string_view frame) {
  if (session != nullptr) session->onPubSubFrame(shard, frame);
}
void PubSubLinkSink::onError(uint64_t, pool::BackendError) {
  if (session != nullptr) session->onPubSubLost(shard);
}

pool::BackendConnection& ClientSession::pubsubLink(uint32_t shard) {
  auto& ps = *pubsub_;
  if (ps.links.size() <= shard) {
    ps.links.resize(worker_.snapshot().ring->shards().size());
    ps.sinks.resize(ps.links.size());
  }
  if (!ps.links[shard]) {
    ps.sinks[shard] = std::make_unique<PubSubLinkSink>();
    ps.sinks[shard]->session = this;
    ps.sinks[shard]->shard = shard;
    ps.links[shard] = worker_.makeLink(shard, 0);
    ps.links[shard]->setPushSink(ps.sinks[shard].get());
  }
  return *ps.links[shard];
}

// Sends `verb names...` to each shard in `byShard` (shard -> names).
void ClientSession::sendSubscriptions(std::string_view verb,
                                      const std::map<uint32_t, std::vector<std::string>>& byShard) {
  for (const auto& [shard, names] : byShard) {
    std::string cmd;
    resp::appendArrayHeader(cmd, 1 + names.size());
    resp::appendBulk(cmd, verb);
    for (const std::string& n : names) resp::appendBulk(cmd, n);
    if (!pubsubLink(shard).sendUntracked(cmd)) {
      onPubSubLost(shard);
      return;
    }
  }
}

bool ClientSession::dispatchPubSub(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame) {
  const std::string_view name = spec.name;
  if (name == "publish" || name == "spublish") {
    if (!switchMode(Mode::Shared)) return false;
    forwardToShard(worker_.snapshot().ownerOf(parser_.arg(1)), index, frame);
    return true;
  }
  if (name == "pubsub") {
    if (!switchMode(Mode::Shared)) return false;
    forwardPubSubIntrospection(index, frame);
    return true;
  }
  if (txn_.multi) return dispatchInMulti(spec, index, frame);
  if (!switchMode(Mode::PubSub)) return false;
  subscribeCommand(name, index);
  return true;
}

void ClientSession::subscribeCommand(std::string_view name, uint32_t index) {
  if (!pubsub_) pubsub_ = std::make_unique<PubSubState>();
  const RoutingSnapshot& snap = worker_.snapshot();
  const auto shards = static_cast<uint32_t>(snap.ring->shards().size());
  uint32_t live = 0;  // a pattern goes to every shard that is not ejected (auto_eject)
  for (uint32_t s = 0; s < shards; ++s) live += snap.isEjected(s) ? 0 : 1;
  const bool pattern = name == "psubscribe" || name == "punsubscribe";
  const bool shardKind = name == "ssubscribe" || name == "sunsubscribe";
  const bool unsub = name == "unsubscribe" || name == "punsubscribe" || name == "sunsubscribe";
  std::set<std::string>& set = pattern ? pubsub_->patterns : shardKind ? pubsub_->shardChannels : pubsub_->channels;
  std::vector<std::string> names;
  for (size_t i = 1; i < parser_.argc(); ++i) names.emplace_back(parser_.arg(i));
  if (unsub && names.empty()) names.assign(set.begin(), set.end());
  PendingSubscription p;
  p.seq = reserveSlot(index);
  std::map<uint32_t, std::vector<std::string>> byShard;
  for (const std::string& n : names) {
    if (unsub) set.erase(n);
    else set.insert(n);
    p.reply += confirmation(name, n, shardKind ? set.size() : pubsub_->count());
    p.expect[std::string(name) + " " + n] += pattern ? live : 1;
    if (pattern) {
      for (uint32_t s = 0; s < shards; ++s) {
        if (!snap.isEjected(s)) byShard[s].push_back(n);
      }
    } else {
      byShard[snap.ownerOf(n)].push_back(n);
    }
  }
  // Nothing to leave: Redis answers one confirmation with a nil name.
  if (names.empty()) p.reply = confirmation(name, {}, shardKind ? set.size() : pubsub_->count(), true);
  pubsub_->active = pubsub_->subscribed();
  pubsub_->pending.push_back(std::move(p));
  sendSubscriptions(name, byShard);
  releaseConfirmed();
}

// A frame from a shard's pub/sub connection: a message (forwarded as is) or the shard's
// confirmation of one name, which counts toward the oldest command still expecting it.
void ClientSession::onPubSubFrame(uint32_t, std::string_view frame) {
  std::vector<std::string_view> parts;
  if (!resp::splitArray(frame, parts) || parts.size() < 3) return;
  const std::string kind = lower(bulkValue(parts[0]));
  if (kind == "message" || kind == "pmessage" || kind == "smessage") return emitPush(frame);
  const std::string key = kind + " " + std::string(bulkValue(parts[1]));
  for (PendingSubscription& p : pubsub_->pending) {
    auto it = p.expect.find(key);
    if (it == p.expect.end()) continue;
    if (--it->second == 0) p.expect.erase(it);
    break;
  }
  releaseConfirmed();
}

void ClientSession::releaseConfirmed() {
  while (!pubsub_->pending.empty() && pubsub_->pending.front().expect.empty()) {
    PendingSubscription p = std::move(pubsub_->pending.front());
    pubsub_->pending.pop_front();
    complete(p.seq, p.reply);
  }
  leavePubSubIfEmpty();
}

void ClientSession::emitPush(std::string_view bytes) {
  if (closed_) return;
  out_.append(bytes.data(), bytes.size());
  markDirty();
}

void ClientSession::leavePubSubIfEmpty() {
  if (!pubsub_ || pubsub_->subscribed() || !pubsub_->pending.empty()) return;
  if (pubsub_->links.empty()) return pubsub_.reset();
  // Destroyed later: we may be inside one of these connections' callbacks.
  auto links = std::make_shared<decltype(pubsub_->links)>(std::move(pubsub_->links));
  auto sinks = std::make_shared<decltype(pubsub_->sinks)>(std::move(pubsub_->sinks));
  for (auto& sink : *sinks) {
    if (sink) sink->session = nullptr;
  }
  pubsub_.reset();
  boost::asio::post(socket_.get_executor(), [links, sinks] { links->clear(); });
}

// auto_eject ejected a shard or took one back: a subscription made under the old routing
// may now sit on the wrong shard (a channel whose owner changed) or miss one (a pattern
// lives on every shard that is not ejected). Such a client is closed, as when a shard's
// pub/sub connection drops, so its library resubscribes under the new routing.
void ClientSession::routingChanged(const RoutingSnapshot& before) {
  if (!pubsub_ || closed_) return;
  const RoutingSnapshot& now = worker_.snapshot();
  bool moved = !pubsub_->patterns.empty();
  for (const std::set<std::string>* names : {&pubsub_->channels, &pubsub_->shardChannels}) {
    for (auto it = names->begin(); !moved && it != names->end(); ++it) {
      moved = before.ownerOf(*it) != now.ownerOf(*it);
    }
  }
  if (!moved) return;
  logx::info("pub/sub routing changed (auto_eject) client=" + std::to_string(id_) +
             ": closing the client so it resubscribes");
  close();
}

void ClientSession::onPubSubLost(uint32_t shard) {
  logx::warn("pub/sub connection lost shard=" + worker_.shardName(shard) + " client=" + std::to_string(id_) +
             ": closing the client so it resubscribes");
  close();
}

// In subscribed mode RESP2 allows only (un)subscribe commands, PING, QUIT and RESET.
bool ClientSession::dispatchInPubSubMode(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame) {
  const std::string_view name = spec.name;
  if (name == "ping") {
    std::string reply = "*2\r\n$4\r\npong\r\n";
    resp::appendBulk(reply, parser_.argc() > 1 ? parser_.arg(1) : std::string_view());
    complete(reserveSlot(index), reply);
    return true;
  }
  if (name == "quit") return runLocal(spec, index, frame), true;
  if (spec.strategy == cmd::Strategy::PubSub && name != "publish" && name != "spublish" && name != "pubsub") {
    return dispatchPubSub(spec, index, frame);
  }
  completeError(reserveSlot(index), "ERR Can't execute '" + lower(name) +
                                        "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                                        "are allowed in this context");
  return true;
}

// PUBSUB CHANNELS/SHARDCHANNELS: every shard's list; NUMSUB/SHARDNUMSUB: counts summed per
// channel; NUMPAT: the largest (a pattern subscribed through the proxy is on every shard).
void ClientSession::forwardPubSubIntrospection(uint32_t index, std::string_view frame) {
  const std::string sub = lower(parser_.arg(1));
  if (sub == "channels" || sub == "shardchannels") return forwardAllShards(index, Merge::ArrayConcat);
  if (sub == "numsub" || sub == "shardnumsub") return forwardAllShards(index, Merge::PairSum);
  if (sub == "numpat") return forwardAllShards(index, Merge::MaxInteger);
  forwardToShard(worker_.snapshot().firstShard(), index, frame);
}

}  // namespace proxy
