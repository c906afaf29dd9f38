// PubSubState: one client session's subscriptions through the proxy.
// Owns: the confirmed channel/pattern/shard-channel sets (the counts Redis reports are
// computed from these, so several shard connections look like one), the dedicated
// per-shard pub/sub connections, and the bookkeeping of confirmations still expected.
// Used by: ClientSession (pubsub.cpp). Worker thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pool/backend_connection.h"

namespace proxy {

class ClientSession;

// Receives every frame of one shard's pub/sub connection.
struct PubSubLinkSink final : pool::ReplySink {
  ClientSession* session = nullptr;
  uint32_t shard = 0;
  void onReply(uint64_t, std::string_view frame) override;
  void onError(uint64_t, pool::BackendError error) override;
};

// A client (un)subscribe command whose reply is known at once (Redis's sequential
// semantics) but is released only when every shard involved has confirmed it.
struct PendingSubscription {
  uint64_t seq = 0;
  std::string reply;
  std::map<std::string, size_t> expect;  // "<kind> <name>" -> shard confirmations still due
};

struct PubSubState {
  // What the client is subscribed to; the counts in confirmations come from these.
  std::set<std::string> channels;
  std::set<std::string> patterns;
  std::set<std::string> shardChannels;
  std::deque<PendingSubscription> pending;
  std::vector<std::unique_ptr<pool::BackendConnection>> links;  // by shard, lazily
  std::vector<std::unique_ptr<PubSubLinkSink>> sinks;
  bool active = false;  // in subscribed mode (RESP2: only (un)subscribe/PING/QUIT/RESET)

  size_t count() const { return channels.size() + patterns.size(); }
  bool subscribed() const { return count() > 0 || !shardChannels.empty(); }
  void clear() { *this = PubSubState{}; }
};

}  // namespace proxy
