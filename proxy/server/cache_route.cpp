// ClientSession's reads through the L1 cache and the writes that void its entries
// (design §6; the fill protocol is on cache::L1Cache, the stamps on cache::WriteStamps).
//
// A cacheable read (a read-only single-key command listed below, outside MULTI, blocking
// and pub/sub modes; the key not moving between shards):
//   1. its key is counted for hot-key detection;
//   2. lookup under (shard, key, command + arguments): a value whose write stamp is
//      current answers at once (a hit); one with an older stamp is dropped;
//   3. on a miss, if the key is admitted (admit: all, or in the hot set), was read before
//      (the L1's frequency sketch) and the shard's tracking is whole, a placeholder is made and `CLIENT CACHING yes`, `PTTL key`, then
//      the read go out on the client's connection to the shard, in that order: CACHING
//      makes Redis track the key for the PTTL right after it, so any later change of the
//      key, the read's value included, is invalidated;
//   4. the reply is stored only if the placeholder survived (no invalidation, flush or
//      newer fill), the key's stamp did not move, CACHING said OK, the key existed
//      (PTTL != -2) and the reply is not an error; its local TTL is min(PTTL, max_ttl_ms)
//      counted from when the read was sent. Otherwise it is only forwarded.
// MGET takes what the cache has for its keys (as GET entries) and fetches the rest.
#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "proxy/cache/write_stamps.h"
#include "proxy/command/command_table.h"
#include "proxy/resp/resp_number.h"
#include "proxy/resp/resp_writer.h"
#include "proxy/server/client_session.h"
#include "proxy/server/worker.h"

namespace proxy {

namespace {
constexpr uint64_t kCachingTag = 1ull << 63;  // reply to CLIENT CACHING yes for slot seq
constexpr uint64_t kPttlTag = 1ull << 62;     // reply to PTTL for slot seq
constexpr uint64_t kCopyTag = 1ull << 61;     // a hot-key copy's reply for slot seq
constexpr uint64_t kAuxTags = kCachingTag | kPttlTag | kCopyTag;
constexpr std::string_view kCachingYes = "*3\r\n$6\r\nCLIENT\r\n$7\r\nCACHING\r\n$3\r\nyes\r\n";

// Read-only, one key at argument 1, a reply that depends only on the key's value (no
// clock, no randomness: TTL, OBJECT, SRANDMEMBER... are not here).
constexpr std::string_view kCacheable[] = {
    "bitcount", "bitpos",   "get",       "getbit",        "getrange",   "hexists",   "hget",
    "hgetall",  "hkeys",    "hlen",      "hmget",         "hstrlen",    "hvals",     "lindex",
    "llen",     "lpos",     "lrange",    "scard",         "sismember",  "smembers",  "smismember",
    "strlen",   "substr",   "type",      "zcard",         "zcount",     "zlexcount", "zmscore",
    "zrange",   "zrangebylex", "zrangebyscore", "zrank", "zrevrange", "zrevrangebylex",
    "zrevrangebyscore", "zrevrank", "zscore"};

bool cacheableCommand(const cmd::CommandSpec& spec) {
  static const std::vector<bool> table = [] {
    std::vector<bool> t(cmd::allCommands().size());
    for (std::string_view name : kCacheable) {
      if (const cmd::CommandSpec* s = cmd::lookup(name)) t[s - cmd::allCommands().data()] = true;
    }
    return t;
  }();
  return table[&spec - cmd::allCommands().data()];
}

void appendPart(std::string& out, std::string_view part) {
  const auto n = static_cast<uint32_t>(part.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(part);
}

// A cached reply, unless a write through this proxy moved its key's stamp since it was read
// (then the entry is dropped). Stored values are the stamp followed by the reply bytes.
std::optional<std::string_view> currentReply(cache::L1Cache& l1, uint32_t slot, std::string_view key,
                                             std::string_view variant, cache::TimePoint now, uint64_t stamp) {
  const std::optional<std::string_view> value = l1.lookup(slot, key, variant, now);
  if (!value) return std::nullopt;
  uint64_t stored = 0;
  std::memcpy(&stored, value->data(), sizeof stored);
  if (stored == stamp) return value->substr(sizeof stored);
  l1.invalidate(slot, key);
  return std::nullopt;
}
}  // namespace

bool ClientSession::cacheableKey(std::string_view key, uint32_t shard) const {
  const RoutingSnapshot& snap = worker_.snapshot();
  return !snap.previous || snap.previous->ownerOf(key) == shard;  // a moving key: no
}

bool ClientSession::readThroughCache(const cmd::CommandSpec& spec, uint32_t index, std::string_view frame,
                                     uint32_t shard) {
  WorkerCache& wc = worker_.cache();
  if (!cacheableCommand(spec) || parser_.argc() < 2) return false;
  const std::string_view key = parser_.arg(1);
  wc.recordRead(key);
  if (!cacheableKey(key, shard)) return false;
  if (!wc.enabled()) return spec.name == "get" && readCopy(index, key, shard);
  std::string& variant = worker_.cacheScratch().variant;
  variant.clear();
  variant.append(spec.name);
  for (size_t i = 2; i < parser_.argc(); ++i) appendPart(variant, parser_.arg(i));
  cache::L1Cache& l1 = wc.l1();
  const uint32_t slot = worker_.shardSlot(shard);
  // The read event's time, not a clock call per request (5% of a cached GET's CPU): it is
  // at most one batch earlier, which makes TTLs start earlier (safe) and lookups see an
  // entry's expiry that much later (sub-millisecond, the order of the invalidation delay).
  const auto now = batchStart_;
  const uint32_t bucket = cache::WriteStamps::bucketOf(key);
  const uint64_t stamp = cache::WriteStamps::instance().get(bucket);
  if (const auto reply = currentReply(l1, slot, key, variant, now, stamp)) {
    wc.hit();
    complete(reserveSlot(index), *reply);
    wc.syncCells();
    return true;
  }
  wc.miss();
  wc.syncCells();
  // A fill costs two more requests to the shard: worth it only for a read seen before
  // (a hot key is, by definition).
  const bool worthIt = wc.admits(key) && l1.shardCaching(slot) && l1.frequency(slot, key, variant) >= 2;
  const cache::FillToken token = worthIt ? l1.beginFill(slot, key, variant, now) : cache::FillToken{};
  if (token.valid()) return sendFill(shard, index, requestBytes(frame), token, bucket, stamp);
  return spec.name == "get" && readCopy(index, key, shard);
}

// Step 3's three requests. Each successful send gets exactly one callback later.
bool ClientSession::sendFill(uint32_t shard, uint32_t index, std::string_view bytes, const cache::FillToken& token,
                             uint32_t bucket, uint64_t stamp) {
  pool::BackendConnection& conn = worker_.backend(shard, id_);
  const uint64_t seq = reserveSlot(index);
  Slot& slot = slots_.at(static_cast<size_t>(seq - headSeq_));
  slot.shard = shard;
  if (!slot.cache) slot.cache = std::make_unique<SlotCache>();
  SlotCache& s = *slot.cache;
  s.fill = token;
  s.l1Generation = worker_.cache().generation();
  s.stampBucket = bucket;
  s.stamp = stamp;
  const std::string_view pttlArgs[] = {"PTTL", parser_.arg(1)};
  std::string pttl;
  resp::appendCommand(pttl, pttlArgs);
  for (auto [request, tag] : {std::pair{kCachingYes, seq | kCachingTag}, std::pair{std::string_view(pttl), seq | kPttlTag},
                              std::pair{bytes, seq}}) {
    if (auto error = conn.send(request, this, tag)) {
      worker_.cache().l1().abandonFill(token);
      s.fill = {};
      completeError(seq, backendErrorText(worker_.shardName(shard), *error));
      return true;
    }
    ++inflight_;
  }
  return true;
}

// Replies to CLIENT CACHING and PTTL (the read's own reply comes right after them).
void ClientSession::cacheAuxReply(uint64_t tag, std::string_view frame) {
  if ((tag & kCopyTag) != 0) return copyReply(tag & ~kAuxTags, frame, false);
  const uint64_t seq = tag & ~kAuxTags;
  if (seq < headSeq_ || seq >= nextSeq_) return;  // the read already failed and left
  if (!filling(seq)) return;
  SlotCache& s = *slots_.at(static_cast<size_t>(seq - headSeq_)).cache;
  if ((tag & kCachingTag) != 0) {
    if (!frame.empty() && frame[0] == '+') return;
    s.pttlKnown = false;  // not tracked: the reply must not be stored
    finishFill(s, "-");
    return;
  }
  int64_t v = 0;
  if (frame.size() > 3 && frame[0] == ':' && resp::detail::parseInt64(frame.data() + 1, frame.size() - 3, v)) {
    s.pttl = v;
    s.pttlKnown = true;
  }
}

// The slot of `seq` is still waiting for a read that fills the L1.
bool ClientSession::filling(uint64_t seq) {
  if (seq < headSeq_ || seq >= nextSeq_) return false;
  const Slot& slot = slots_.at(static_cast<size_t>(seq - headSeq_));
  return !slot.done && slot.cache && slot.cache->fill.valid();
}

void ClientSession::finishFill(SlotCache& s, std::string_view frame) {
  WorkerCache& wc = worker_.cache();
  const cache::FillToken token = s.fill;
  s.fill = {};
  if (!wc.enabled() || wc.generation() != s.l1Generation) return;  // that partition is gone
  cache::L1Cache& l1 = wc.l1();
  const bool storable = s.pttlKnown && s.pttl != -2 && !frame.empty() && frame[0] != '-' &&
                        cache::WriteStamps::instance().get(s.stampBucket) == s.stamp;
  if (!storable) return l1.abandonFill(token);
  std::string& value = worker_.cacheScratch().fillValue;
  value.assign(reinterpret_cast<const char*>(&s.stamp), sizeof s.stamp);
  value.append(frame);
  const cache::Millis ttl = s.pttl == -1 ? cache::L1Cache::kNoTtl : cache::Millis(std::max<int64_t>(s.pttl, 0));
  l1.completeFill(token, value, ttl, Clock::now());
  wc.syncCells();
}

// MGET: which keys the cache can answer (GET entries). Returns how many.
size_t ClientSession::lookupMget(size_t keys) {
  WorkerCache& wc = worker_.cache();
  if (!wc.counting()) return 0;
  for (size_t k = 0; k < keys; ++k) wc.recordRead(parser_.arg(1 + k));
  if (!wc.enabled()) return 0;
  Worker::CacheScratch& scratch = worker_.cacheScratch();
  scratch.mgetHit.assign(keys, 0);
  scratch.mgetCached.clear();
  scratch.mgetSpans.clear();
  size_t hits = 0;
  const auto now = batchStart_;
  cache::L1Cache& l1 = wc.l1();
  for (size_t k = 0; k < keys; ++k) {
    const std::string_view key = parser_.arg(1 + k);
    if (!cacheableKey(key, keyShard()[k])) continue;
    const uint64_t stamp = cache::WriteStamps::instance().get(cache::WriteStamps::bucketOf(key));
    const auto reply = currentReply(l1, worker_.shardSlot(keyShard()[k]), key, "get", now, stamp);
    if (!reply) continue;
    scratch.mgetHit[k] = 1;
    scratch.mgetSpans.emplace_back(scratch.mgetCached.size(), reply->size());
    scratch.mgetCached.append(*reply);
    ++hits;
  }
  wc.miss(keys - hits);
  wc.hit(hits);
  wc.syncCells();
  return hits;
}

// Before a command that may write is routed: its keys' stamps move now (a read behind it
// must not be answered from cache) and again when it is answered (see WriteStamps).
void ClientSession::noteWrites(const cmd::CommandSpec& spec) {
  std::vector<uint32_t>& pending = worker_.cacheScratch().pendingWrites;
  pending.clear();
  if (!worker_.cache().enabled() || spec.has(cmd::ReadOnly)) return;
  if (spec.name == "exec") {
    pending = txn_.writes;  // a copy: EXEC may pass through here again (barriers)
  } else if (spec.name == "flushdb" || spec.name == "flushall") {
    pending.push_back(kAllBuckets);
  } else {
    keyIndex().clear();
    if (!cmd::keyIndices(spec, parser_.argc(), [this](size_t i) { return parser_.arg(i); }, keyIndex())) return;
    for (size_t i : keyIndex()) pending.push_back(cache::WriteStamps::bucketOf(parser_.arg(i)));
    if (txn_.multi) txn_.writes.insert(txn_.writes.end(), pending.begin(), pending.end());
  }
  std::vector<uint32_t> now = pending;
  bumpWrites(now);
}

void ClientSession::bumpWrites(std::vector<uint32_t>& buckets) {
  cache::WriteStamps& stamps = cache::WriteStamps::instance();
  for (uint32_t b : buckets) {
    if (b != kAllBuckets) {
      stamps.bump(b);
      continue;
    }
    for (uint32_t all = 0; all < cache::WriteStamps::kBuckets; ++all) stamps.bump(all);
  }
  buckets.clear();
}

}  // namespace proxy
