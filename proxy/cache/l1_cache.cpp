// L1Cache: fill tokens, invalidation and W-TinyLFU eviction by bytes (see the header).
// Called by: one worker's cache route and invalidation handling; tests.
#include "proxy/cache/l1_cache.h"

#include <algorithm>

#include "routing/hash_fn.h"

namespace cache {
namespace {

// splitmix64 (routing/hash_fn.h): independent-looking indexes from one 64-bit hash.
using routing::mix64;

// glibc's per-allocation header plus rounding to 16 bytes, on average.
constexpr size_t kMallocSlack = 16;
// Caffeine rejects a warm candidate that merely ties only 127 times in 128: with a
// deterministic tie rule an attacker could keep one victim resident by colliding with it.
constexpr uint32_t kWarmCandidate = 6;

// Expiry times are steady_clock nanoseconds: a TTL near Millis::max() would overflow them.
L1Options clampOptions(L1Options options) {
  options.maxTtl = std::clamp(options.maxTtl, Millis(0), Millis(std::chrono::hours(24 * 365)));
  return options;
}

}  // namespace

L1Cache::L1Cache(L1Options options)
    : options_(clampOptions(options)),
      windowMax_(static_cast<size_t>(static_cast<double>(options.maxBytes) *
                                     std::clamp(options.windowFraction, 0.0, 1.0))),
      protectedMax_(static_cast<size_t>(static_cast<double>(options.maxBytes - windowMax_) *
                                        std::clamp(options.protectedFraction, 0.0, 1.0))),
      sketch_(options.expectedEntries != 0 ? options.expectedEntries : options.maxBytes / 256) {}

L1Cache::~L1Cache() = default;

size_t L1Cache::entryCost(size_t keyBytes, size_t variantBytes, size_t valueBytes) {
  // Node + its allocation; the map node (next pointer, key string, KeyRecord, cached hash)
  // + its allocation; bucket slots (load factor <= 1 with doubling growth leaves up to two
  // per element); heap buffers of the key and data strings once they outgrow the
  // small-string buffer. Charged per variant, so a key with several variants is
  // over-counted: the budget errs towards using less memory, never more.
  constexpr size_t kMapNode = sizeof(void*) + sizeof(KeySlot) + sizeof(size_t);
  constexpr size_t kOverhead =
      sizeof(Node) + kMallocSlack + kMapNode + kMallocSlack + 2 * sizeof(void*) + 2 * kMallocSlack;
  return keyBytes + variantBytes + valueBytes + kOverhead;
}

uint64_t L1Cache::hashOf(ShardId shard, std::string_view key, std::string_view variant) {
  uint64_t h = std::hash<std::string_view>{}(key);
  h = mix64(h ^ (static_cast<uint64_t>(shard) + 1) * 0x9e3779b97f4a7c15ULL);
  return mix64(h ^ std::hash<std::string_view>{}(variant));
}

// ---- lookup and the fill protocol ------------------------------------------------------

std::optional<std::string_view> L1Cache::lookup(ShardId shard, std::string_view key,
                                                std::string_view variant, TimePoint now) {
  // Misses count too: the sketch must know how popular a key is before it is admitted.
  sketch_.increment(hashOf(shard, key, variant));
  // A disabled shard holds nothing (disabling flushes, beginFill refuses), so no check here.
  Node* node = findNode(shard, key, variant);
  if (node == nullptr || node->region == Region::None) {
    ++stats_.misses;
    return std::nullopt;
  }
  if (now >= node->expiresAt) {
    ++stats_.expirations;
    ++stats_.misses;
    destroyNode(node);
    return std::nullopt;
  }
  ++stats_.hits;
  onHit(node);
  return node->value();
}

uint32_t L1Cache::frequency(ShardId shard, std::string_view key, std::string_view variant) const {
  return sketch_.estimate(hashOf(shard, key, variant));
}

bool L1Cache::fillPending(ShardId shard, std::string_view key, std::string_view variant) const {
  const Node* node = findNode(shard, key, variant);
  return node != nullptr && node->fillSeq != 0;
}

FillToken L1Cache::beginFill(ShardId shard, std::string_view key, std::string_view variant,
                             TimePoint now) {
  ShardState& state = shardState(shard);
  if (!state.enabled || variant.size() > UINT32_MAX ||
      entryCost(key.size(), variant.size(), 0) > options_.maxBytes) {
    ++stats_.fillsRefused;
    return {};
  }
  Node* node = findNode(shard, key, variant);
  if (node == nullptr) {
    node = makePlaceholder(shard, key, variant);
  } else if (node->fillSeq != 0) {
    pending_.erase(node->fillSeq);  // superseded: the older token can no longer store
    --stats_.placeholders;
  } else {
    dropValue(node);  // the new read is at least as fresh as what we hold
  }
  node->fillSeq = nextSeq_++;
  node->expiresAt = now;
  pending_.emplace(node->fillSeq, node);
  ++stats_.placeholders;
  if (stats_.bytes > options_.maxBytes) evict(nullptr);
  if (stats_.bytes > options_.maxBytes) {  // only placeholders left: in-flight reads fill it
    destroyNode(node);
    ++stats_.fillsRefused;
    return {};
  }
  return FillToken{shard, state.epoch, node->fillSeq};
}

bool L1Cache::completeFill(const FillToken& token, std::string_view replyBytes, Millis ttl,
                           TimePoint now) {
  if (!token.valid()) return false;
  auto it = pending_.find(token.seq);
  if (it == pending_.end()) {  // invalidated, flushed or superseded since beginFill
    ++stats_.fillsStale;
    return false;
  }
  Node* node = it->second;
  const ShardState& state = shards_[node->shard];
  if (node->shard != token.shard || state.epoch != token.epoch || !state.enabled) {
    // Unreachable while flushShard voids placeholders; kept so a future lazy flush stays safe.
    ++stats_.fillsStale;
    destroyNode(node);
    return false;
  }
  const Millis localTtl = std::min(ttl, options_.maxTtl);
  const TimePoint expiresAt = node->expiresAt + localTtl;
  const size_t cost = entryCost(node->owner->first.size(), node->variantBytes, replyBytes.size());
  if (replyBytes.size() > options_.maxValueBytes || localTtl <= Millis::zero() ||
      expiresAt <= now || cost > options_.maxBytes) {
    ++stats_.fillsRejected;
    destroyNode(node);
    return false;
  }
  pending_.erase(it);
  --stats_.placeholders;
  node->fillSeq = 0;
  storeValue(node, replyBytes, cost, expiresAt);
  if (evict(node)) return false;
  ++stats_.fillsStored;
  return true;
}

void L1Cache::abandonFill(const FillToken& token) {
  auto it = pending_.find(token.seq);
  if (token.valid() && it != pending_.end()) destroyNode(it->second);
}

// ---- invalidation -----------------------------------------------------------------------

void L1Cache::invalidate(ShardId shard, std::string_view key) {
  if (shard >= shards_.size()) return;
  KeyMap& keys = shards_[shard].keys;
  auto it = keys.find(key);
  if (it == keys.end()) return;
  for (Node* node = it->second.firstVariant.get(); node; node = node->nextVariant.get()) {
    unlinkBookkeeping(node);
    stats_.bytes -= node->cost;
  }
  keys.erase(it);
  ++stats_.invalidations;
}

void L1Cache::flushShard(ShardId shard) {
  ShardState& state = shardState(shard);
  for (KeySlot& slot : state.keys) {
    for (Node* node = slot.second.firstVariant.get(); node; node = node->nextVariant.get()) {
      unlinkBookkeeping(node);
      stats_.bytes -= node->cost;
    }
  }
  state.keys.clear();
  ++state.epoch;
  ++stats_.shardFlushes;
}

void L1Cache::setShardCaching(ShardId shard, bool enabled) {
  if (!enabled) flushShard(shard);
  shardState(shard).enabled = enabled;
}

bool L1Cache::shardCaching(ShardId shard) const {
  const ShardState* state = findShard(shard);
  return state == nullptr || state->enabled;
}

uint64_t L1Cache::shardEpoch(ShardId shard) const {
  const ShardState* state = findShard(shard);
  return state == nullptr ? ShardState{}.epoch : state->epoch;
}

// ---- storage primitives -----------------------------------------------------------------

L1Cache::ShardState& L1Cache::shardState(ShardId shard) {
  // Moving a ShardState moves its map's node ownership, so KeySlot pointers stay valid.
  if (shard >= shards_.size()) shards_.resize(static_cast<size_t>(shard) + 1);
  return shards_[shard];
}

const L1Cache::ShardState* L1Cache::findShard(ShardId shard) const {
  return shard < shards_.size() ? &shards_[shard] : nullptr;
}

L1Cache::Node* L1Cache::findNode(ShardId shard, std::string_view key,
                                 std::string_view variant) const {
  const ShardState* state = findShard(shard);
  if (state == nullptr) return nullptr;
  auto it = state->keys.find(key);
  if (it == state->keys.end()) return nullptr;
  for (Node* node = it->second.firstVariant.get(); node; node = node->nextVariant.get()) {
    if (node->variant() == variant) return node;
  }
  return nullptr;
}

L1Cache::Node* L1Cache::makePlaceholder(ShardId shard, std::string_view key,
                                        std::string_view variant) {
  KeyMap& keys = shardState(shard).keys;
  auto it = keys.find(key);
  if (it == keys.end()) it = keys.emplace(std::string(key), KeyRecord{}).first;
  auto node = std::make_unique<Node>();
  node->owner = &*it;
  node->data.assign(variant);
  node->variantBytes = static_cast<uint32_t>(variant.size());
  node->shard = shard;
  node->hash = hashOf(shard, key, variant);
  node->cost = entryCost(key.size(), variant.size(), 0);
  stats_.bytes += node->cost;
  node->nextVariant = std::move(it->second.firstVariant);
  it->second.firstVariant = std::move(node);
  return it->second.firstVariant.get();
}

void L1Cache::dropValue(Node* node) {
  unlinkBookkeeping(node);
  stats_.bytes -= node->cost;
  node->data = std::string(node->variant());  // give the value's memory back now
  node->cost = entryCost(node->owner->first.size(), node->variantBytes, 0);
  stats_.bytes += node->cost;
}

void L1Cache::storeValue(Node* node, std::string_view value, size_t cost, TimePoint expiresAt) {
  std::string data;
  data.reserve(node->variantBytes + value.size());  // exact, so the charge matches the heap
  data.append(node->variant()).append(value);
  node->data = std::move(data);
  stats_.bytes += cost - node->cost;
  node->cost = cost;
  node->expiresAt = expiresAt;
  node->region = Region::Window;
  window_.pushBack(node);
  ++stats_.entries;
}

void L1Cache::unlinkBookkeeping(Node* node) {
  if (node->region != Region::None) {
    listOf(node->region).remove(node);
    node->region = Region::None;
    --stats_.entries;
  }
  if (node->fillSeq != 0) {
    pending_.erase(node->fillSeq);
    node->fillSeq = 0;
    --stats_.placeholders;
  }
}

void L1Cache::destroyNode(Node* node) {
  unlinkBookkeeping(node);
  stats_.bytes -= node->cost;
  KeySlot* slot = node->owner;
  const ShardId shard = node->shard;
  std::unique_ptr<Node>* link = &slot->second.firstVariant;
  while (link->get() != node) link = &(*link)->nextVariant;
  std::unique_ptr<Node> doomed = std::move(*link);
  *link = std::move(doomed->nextVariant);
  doomed.reset();
  if (!slot->second.firstVariant) {
    KeyMap& keys = shards_[shard].keys;
    keys.erase(keys.find(std::string_view(slot->first)));
  }
}

// ---- W-TinyLFU ----------------------------------------------------------------------------

L1Cache::LruList& L1Cache::listOf(Region region) {
  switch (region) {
    case Region::Window: return window_;
    case Region::Probation: return probation_;
    default: return protected_;
  }
}

void L1Cache::onHit(Node* node) {
  if (node->region != Region::Probation) {
    LruList& list = listOf(node->region);
    list.remove(node);
    list.pushBack(node);
    return;
  }
  // A second hit proves reuse: protect it, making room by demoting protected's coldest.
  probation_.remove(node);
  node->region = Region::Protected;
  protected_.pushBack(node);
  while (protected_.bytes() > protectedMax_ && protected_.front() != node) {
    Node* demoted = protected_.front();
    protected_.remove(demoted);
    demoted->region = Region::Probation;
    probation_.pushBack(demoted);
  }
}

bool L1Cache::evict(const Node* watched) {
  // b. The window's overflow becomes candidates, appended together at probation's MRU end;
  //    `candidate` walks them oldest first, so everything after it is a candidate too.
  Node* candidate = nullptr;
  while (window_.bytes() > windowMax_) {
    Node* moved = window_.front();
    window_.remove(moved);
    moved->region = Region::Probation;
    probation_.pushBack(moved);
    if (candidate == nullptr) candidate = moved;
  }
  // c. Each round evicts exactly one entry, so the loop ends.
  bool watchedEvicted = false;
  while (stats_.bytes > options_.maxBytes) {
    Node* victim = pickVictim(candidate);
    Node* loser = nullptr;
    if (candidate != nullptr) {
      Node* nextCandidate = candidate->next;
      loser = (victim != nullptr && admit(candidate, victim)) ? victim : candidate;
      candidate = nextCandidate;
    } else {
      loser = victim != nullptr ? victim : window_.front();
    }
    if (loser == nullptr) break;  // only placeholders left
    watchedEvicted = watchedEvicted || loser == watched;
    destroyNode(loser);
    ++stats_.evictions;
  }
  return watchedEvicted;
}

L1Cache::Node* L1Cache::pickVictim(const Node* candidate) const {
  // Probation's LRU end, unless that is the candidate itself (probation holds nothing older):
  // then protected's LRU end, which Caffeine also falls back to.
  Node* victim = probation_.front();
  if (victim != nullptr && victim != candidate) return victim;
  return protected_.front();
}

bool L1Cache::admit(const Node* candidate, const Node* victim) {
  const uint32_t candidateFreq = sketch_.estimate(candidate->hash);
  const uint32_t victimFreq = sketch_.estimate(victim->hash);
  if (candidateFreq > victimFreq) return true;
  if (candidateFreq < kWarmCandidate) return false;
  random_ ^= random_ << 13;
  random_ ^= random_ >> 7;
  random_ ^= random_ << 17;
  return (random_ & 127) == 0;
}

void L1Cache::LruList::pushBack(Node* node) {
  node->prev = tail_;
  node->next = nullptr;
  (tail_ != nullptr ? tail_->next : head_) = node;
  tail_ = node;
  bytes_ += node->cost;
}

void L1Cache::LruList::remove(Node* node) {
  (node->prev != nullptr ? node->prev->next : head_) = node->next;
  (node->next != nullptr ? node->next->prev : tail_) = node->prev;
  node->prev = node->next = nullptr;
  bytes_ -= node->cost;
}

// ---- test support -------------------------------------------------------------------------

bool L1Cache::checkInvariants() const {
  size_t bytes = 0, entries = 0, placeholders = 0, listed = 0;
  for (size_t shard = 0; shard < shards_.size(); ++shard) {
    for (const KeySlot& slot : shards_[shard].keys) {
      if (!slot.second.firstVariant) return false;  // empty records must be erased
      for (const Node* n = slot.second.firstVariant.get(); n; n = n->nextVariant.get()) {
        bool placeholder = n->fillSeq != 0;
        if (n->owner != &slot || n->shard != shard) return false;
        if (placeholder == (n->region != Region::None)) return false;  // exactly one state
        if (placeholder && (!pending_.count(n->fillSeq) || pending_.at(n->fillSeq) != n))
          return false;
        if (n->cost != entryCost(slot.first.size(), n->variantBytes, n->value().size()))
          return false;
        bytes += n->cost;
        (placeholder ? placeholders : entries) += 1;
        if (!placeholder) listed += n->cost;
      }
    }
  }
  for (const LruList* list : {&window_, &probation_, &protected_}) {
    size_t sum = 0;
    for (const Node* n = list->front(); n; n = n->next) sum += n->cost;
    if (sum != list->bytes()) return false;
  }
  return bytes == stats_.bytes && entries == stats_.entries &&
         placeholders == stats_.placeholders && placeholders == pending_.size() &&
         listed == window_.bytes() + probation_.bytes() + protected_.bytes() &&
         stats_.bytes <= options_.maxBytes;
}

}  // namespace cache
