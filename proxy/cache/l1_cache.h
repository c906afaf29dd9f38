// L1Cache: one worker's partition of the local reply cache, kept coherent with Redis
// CLIENT TRACKING through fill tokens (design.md §6, anchors.md §5), bounded by a byte budget.
// Called by: the worker's cache route (lookup / beginFill before sending / completeFill on
// the reply), the invalidation path (invalidate, flushShard), tests. Single-threaded: each
// worker owns one instance and never shares it; no I/O, no clocks (time is a parameter).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/cache/frequency_sketch.h"

namespace cache {

using ShardId = uint32_t;  // dense index of a shard on the current ring
using TimePoint = std::chrono::steady_clock::time_point;
using Millis = std::chrono::milliseconds;

struct L1Options {
  size_t maxBytes = 64 * 1024 * 1024;  // hard cap on entryCost() summed over everything held
  size_t maxValueBytes = 512 * 1024;   // larger replies are never stored
  Millis maxTtl = Millis(10'000);      // safety net even for tracked keys
  double windowFraction = 0.01;        // W-TinyLFU admission window (Caffeine's default)
  double protectedFraction = 0.80;     // share of the main region for entries hit twice
  size_t expectedEntries = 0;          // sizes the frequency sketch; 0 = maxBytes / 256
};

// What beginFill hands out and completeFill checks. Plain value: keep it with the request.
struct FillToken {
  ShardId shard = 0;
  uint64_t epoch = 0;  // the shard's epoch when the placeholder was made
  uint64_t seq = 0;    // unique for the cache's life; 0 = no placeholder (do not fill)
  bool valid() const { return seq != 0; }
};

struct L1Stats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;       // entries dropped by the byte budget
  uint64_t invalidations = 0;   // invalidate() calls that dropped an entry or voided a fill
  uint64_t expirations = 0;     // entries found past their local TTL
  uint64_t shardFlushes = 0;
  uint64_t fillsStored = 0;
  uint64_t fillsStale = 0;      // reply arrived after an invalidation, flush or newer fill
  uint64_t fillsRejected = 0;   // value above maxValueBytes or the budget, or ttl <= 0
  uint64_t fillsRefused = 0;    // beginFill found no room for a placeholder, or shard disabled
  size_t bytes = 0;             // entryCost() of every entry and placeholder held
  size_t entries = 0;           // entries with a value
  size_t placeholders = 0;      // fills in flight
};

// Entry identity is (shard, key, variant); variant = the command and any arguments after the
// key ("GET", "HGET\0field"), so every reply shape of one key is invalidated together.
//
// Fill protocol (closes the read/invalidate race of RESP2 two-connection tracking):
//   1. On a miss, beginFill() before the read is written to the backend. It makes a
//      placeholder for the variant (dropping any older value or placeholder there) and
//      returns a token carrying the shard epoch and a fresh sequence number.
//   2. The caller sends `CLIENT CACHING yes` + the read on a tracked connection.
//   3. invalidate(shard, key) — from the invalidation channel or a write through this proxy —
//      deletes every variant of the key, placeholders included. flushShard() does that for
//      the whole shard and bumps its epoch (tracking lost, null invalidation, ring change).
//   4. completeFill(token, ...) stores the reply only if that very placeholder still exists
//      (not deleted by 3, same epoch, not superseded by a later beginFill for the variant);
//      otherwise the reply is only forwarded, never cached.
//   5. lookup() serves a value until its local TTL (min(ttl, maxTtl)) passes.
// Sequence numbers come from one cache-wide counter rather than per key: a key deleted and
// re-created can then never hand out a number an old token still holds.
//
// Eviction: W-TinyLFU by bytes (Caffeine's design, without its hill-climbing window tuning):
//   a. a new value enters the window LRU (windowFraction of maxBytes);
//   b. what overflows the window becomes a candidate at the MRU end of main's probation LRU;
//   c. while over budget, a candidate duels main's LRU victim: the one with the lower sketch
//      frequency is evicted (ties reject the candidate, except for a 1/128 random admit once
//      the candidate is warm, so crafted collisions can't pin the victim forever);
//   d. a hit in probation promotes to protected (protectedFraction of main); protected's
//      overflow is demoted back to probation's MRU end.
// Placeholders are charged to the budget too but never evicted; beginFill refuses (invalid
// token) when evicting every value still leaves no room.
//
// Not guaranteed: coherence for writers that bypass tracking (e.g. another DB number, which
// Redis tracks by name only) beyond maxTtl; TTL expiry is lazy (an expired entry uses budget
// until looked up or evicted).
class L1Cache {
 public:
  static constexpr Millis kNoTtl = Millis::max();  // "no server TTL": maxTtl applies

  explicit L1Cache(L1Options options);
  ~L1Cache();
  L1Cache(const L1Cache&) = delete;
  L1Cache& operator=(const L1Cache&) = delete;

  // The reply bytes, or nullopt on a miss (absent, placeholder only, expired, shard disabled).
  // The view is valid until the next call on this cache; copy it out before anything else.
  std::optional<std::string_view> lookup(ShardId shard, std::string_view key,
                                         std::string_view variant, TimePoint now);
  // True while a fill for exactly this variant is in flight (for single-flighting misses).
  bool fillPending(ShardId shard, std::string_view key, std::string_view variant) const;

  // How often the variant was looked up lately (the admission sketch's estimate, lookups
  // included): lets a caller skip the cost of a fill for a read seen only once.
  uint32_t frequency(ShardId shard, std::string_view key, std::string_view variant) const;

  FillToken beginFill(ShardId shard, std::string_view key, std::string_view variant,
                      TimePoint now);
  // `ttl`: the key's remaining server TTL (kNoTtl if none); <= 0 means do not store.
  // Returns true when the value was stored (it may still be evicted later).
  // The local TTL is counted from beginFill's `now` (when the read was sent), so it never
  // outlives the server's: the server measured `ttl` after that instant.
  bool completeFill(const FillToken& token, std::string_view replyBytes, Millis ttl,
                    TimePoint now);
  // The read failed or was cancelled: drop its placeholder (a no-op if already voided).
  void abandonFill(const FillToken& token);

  void invalidate(ShardId shard, std::string_view key);
  void flushShard(ShardId shard);
  // A disabled shard serves nothing and refuses fills; disabling flushes it. Shards start
  // enabled: the owner disables one until tracking is (re-)established on all its connections.
  void setShardCaching(ShardId shard, bool enabled);
  bool shardCaching(ShardId shard) const;
  uint64_t shardEpoch(ShardId shard) const;

  const L1Stats& stats() const { return stats_; }
  const L1Options& options() const { return options_; }
  size_t sketchBytes() const { return sketch_.memoryBytes(); }
  // What one entry is charged: its bytes plus the estimated bookkeeping around them.
  static size_t entryCost(size_t keyBytes, size_t variantBytes, size_t valueBytes);
  // Recounts everything from scratch; O(entries). For tests.
  bool checkInvariants() const;

 private:
  enum class Region : uint8_t { None, Window, Probation, Protected };
  struct Node;
  struct KeyRecord {
    std::unique_ptr<Node> firstVariant;  // owning singly linked list of the key's variants
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using KeyMap = std::unordered_map<std::string, KeyRecord, StringHash, std::equal_to<>>;
  using KeySlot = KeyMap::value_type;
  struct Node {
    Node* prev = nullptr;  // eviction-list links; null while a placeholder
    Node* next = nullptr;
    std::unique_ptr<Node> nextVariant;
    KeySlot* owner = nullptr;  // stable: unordered_map never moves its elements
    std::string data;          // variant bytes followed by the value bytes
    uint32_t variantBytes = 0;
    ShardId shard = 0;
    Region region = Region::None;
    size_t cost = 0;
    uint64_t hash = 0;     // sketch key of (shard, key, variant)
    uint64_t fillSeq = 0;  // nonzero while a placeholder
    TimePoint expiresAt{};  // while a placeholder: when its read was sent
    std::string_view variant() const { return std::string_view(data).substr(0, variantBytes); }
    std::string_view value() const { return std::string_view(data).substr(variantBytes); }
  };
  class LruList {
   public:
    void pushBack(Node* node);
    void remove(Node* node);
    Node* front() const { return head_; }
    size_t bytes() const { return bytes_; }
   private:
    Node* head_ = nullptr;  // least recently used
    Node* tail_ = nullptr;
    size_t bytes_ = 0;
  };
  struct ShardState {
    KeyMap keys;
    uint64_t epoch = 1;
    bool enabled = true;
  };
  ShardState& shardState(ShardId shard);
  const ShardState* findShard(ShardId shard) const;
  Node* findNode(ShardId shard, std::string_view key, std::string_view variant) const;
  Node* makePlaceholder(ShardId shard, std::string_view key, std::string_view variant);
  void dropValue(Node* node);
  void storeValue(Node* node, std::string_view value, size_t cost, TimePoint expiresAt);
  void destroyNode(Node* node);
  void unlinkBookkeeping(Node* node);
  LruList& listOf(Region region);
  void onHit(Node* node);
  bool evict(const Node* watched);
  Node* pickVictim(const Node* candidate) const;
  bool admit(const Node* candidate, const Node* victim);
  static uint64_t hashOf(ShardId shard, std::string_view key, std::string_view variant);

  L1Options options_;
  size_t windowMax_;
  size_t protectedMax_;
  std::vector<ShardState> shards_;
  std::unordered_map<uint64_t, Node*> pending_;  // fill seq -> its placeholder
  LruList window_;
  LruList probation_;
  LruList protected_;
  FrequencySketch sketch_;
  uint64_t nextSeq_ = 1;
  uint64_t random_ = 0x853c49e6748fea9bULL;  // xorshift state for the admission coin
  L1Stats stats_;
};

}  // namespace cache
