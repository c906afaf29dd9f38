// Fanout: one client command that needs several shards (MGET, MSET, DEL/EXISTS/UNLINK/
// TOUCH, DBSIZE, KEYS, SCRIPT LOAD, ...). One sub-command per shard, never one per key;
// the replies are merged by a small policy and the merged reply completes the client's
// FIFO slot. Build reply objects only here: single-shard replies are forwarded as bytes.
// Taken from the worker's FanoutPool by ClientSession (dispatch.cpp); it is the ReplySink
// of its sub-commands and goes back to the pool after the last one answered (each send
// gets exactly one callback). Pooled objects keep their buffers: no allocation per request
// once warm.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pool/reply_sink.h"

namespace proxy {

enum class Merge : uint8_t {
  ArrayInOrder,  // MGET: the client's key order, element spans copied from shard replies
  SumIntegers,   // DEL, EXISTS, UNLINK, TOUCH, DBSIZE
  AllOk,         // MSET, FLUSHDB, SCRIPT FLUSH: +OK only if every shard said +OK
  SameReply,     // SCRIPT LOAD, FUNCTION LOAD...: the first reply, if none failed
  ArrayConcat,   // KEYS: all elements of all shards
  ArrayAnd,      // SCRIPT EXISTS: 1 only where every shard has it
  AnyNonNil,     // RANDOMKEY: a non-nil reply, starting from a rotating shard
  Scan,          // SCAN on one shard: the shard's cursor re-encoded with the shard index
  PairSum,       // PUBSUB NUMSUB: [name, count, ...] with counts summed across shards
  MaxInteger,    // PUBSUB NUMPAT
  InfoKeyspace,  // INFO: the proxy's own sections (prefix) + db0 summed over the shards
};

// SCAN cursors seen by clients carry the shard index in their low bits.
inline constexpr unsigned kScanShardBits = 10;
inline constexpr uint64_t kScanShardMask = (1u << kScanShardBits) - 1;

// Who receives the merged reply (ClientSession).
class FanoutTarget {
 public:
  virtual void completeFanout(uint64_t seq, std::string_view reply) = 0;

 protected:
  ~FanoutTarget() = default;
};

struct FanoutPart {
  uint32_t shard = 0;
  const std::string* shardName = nullptr;  // owned by the config snapshot
  std::string command;  // the RESP sub-command for this shard
  std::string reply;    // its reply frame (or an error frame when it failed)
  bool failed = false;
};

class FanoutPool;

class Fanout final : public pool::ReplySink {
 public:
  explicit Fanout(FanoutPool& pool) : pool_(pool) {}
  void reset(FanoutTarget& target, uint64_t seq, Merge merge);

  // A new part (its command and reply cleared, their capacity kept).
  FanoutPart& addPart(uint32_t shard, const std::string& shardName);
  size_t partCount() const { return used_; }
  FanoutPart& part(size_t i) { return parts_[i]; }
  // ArrayInOrder: for each client key, (part index, element index in that part's reply).
  std::vector<std::pair<uint32_t, uint32_t>>& order() { return order_; }
  // ArrayInOrder: the next client key's element comes from the L1 cache, not a shard.
  void addCached(std::string_view elementFrame);
  // Scan: the shard this part scans and how many shards there are.
  void setScan(uint32_t shard, uint32_t shardCount) {
    scanShard_ = shard;
    scanShards_ = shardCount;
  }
  // InfoKeyspace: the INFO text before the keyspace section.
  void setPrefix(std::string prefix) { prefix_ = std::move(prefix); }
  // AnyNonNil: where to start looking.
  void setStart(size_t start) { start_ = start; }
  // Marks part `i` as failed before it was sent (the shard could not take it).
  void failPart(size_t i, std::string errorFrame);
  // Called once every part was sent or failed; the fanout may complete (and delete
  // itself) right here when nothing is in flight.
  void sealed();

  void onReply(uint64_t part, std::string_view frame) override;
  void onError(uint64_t part, pool::BackendError error) override;

 private:
  void finish();
  void merge(std::string& out);
  void mergeArrayInOrder(std::string& out);
  void mergeSum(std::string& out) const;
  void mergeConcat(std::string& out);
  void mergeAnd(std::string& out);
  void mergeAnyNonNil(std::string& out) const;
  void mergeScan(std::string& out);
  void mergePairSum(std::string& out);
  void mergeMax(std::string& out) const;
  void mergeInfoKeyspace(std::string& out) const;
  const FanoutPart* firstFailure() const;

  FanoutPool& pool_;
  FanoutTarget* target_ = nullptr;
  uint64_t seq_ = 0;
  Merge merge_ = Merge::AllOk;
  std::vector<FanoutPart> parts_;  // only the first used_ are live
  size_t used_ = 0;
  std::vector<std::vector<std::string_view>> elements_;  // merge scratch, per part
  std::string result_;
  std::vector<std::pair<uint32_t, uint32_t>> order_;
  static constexpr uint32_t kCachedPart = UINT32_MAX;  // order_ entry: (kCachedPart, i) = cached_[i]
  std::string cachedBytes_;
  std::vector<std::pair<size_t, size_t>> cached_;  // (offset, length) in cachedBytes_
  size_t outstanding_ = 0;
  uint32_t scanShard_ = 0;
  uint32_t scanShards_ = 1;
  size_t start_ = 0;
  std::string prefix_;
  bool sealed_ = false;
};

// One worker's idle Fanout objects. Worker thread only.
class FanoutPool {
 public:
  Fanout* acquire(FanoutTarget& target, uint64_t seq, Merge merge);
  void release(Fanout* fanout);

 private:
  static constexpr size_t kMaxIdle = 1024;  // bounds what a burst leaves behind
  std::vector<std::unique_ptr<Fanout>> idle_;  // in-flight ones are owned by their sends
};

// The client-visible text for a backend failure of `shard`.
std::string backendErrorText(std::string_view shard, pool::BackendError error);

}  // namespace proxy
