// WorkerCache (see the header).
#include "proxy/server/worker_cache.h"

#include <algorithm>

namespace proxy {

void WorkerCache::configure(const config::ProxyConfig& cfg, size_t workers) {
  const config::CacheConfig& c = cfg.cache;
  const bool hotOn = c.enabled || cfg.hotKeyReplication.replicas > 0;
  const size_t capacity = std::max<size_t>(256, size_t{cfg.hotKeys.topK} * 10);
  if (!hotOn) counter_.reset();
  else if (!counter_ || counter_->capacity() != capacity) counter_ = std::make_unique<cache::HotKeyCounter>(capacity);
  admitAll_ = c.admit == config::CacheAdmit::All;
  if (!c.enabled) {
    if (l1_) evictionsBefore_ += l1_->stats().evictions;
    l1_.reset();
    ++generation_;
    budget_ = 0;
    syncCells();
    return;
  }
  const size_t budget = static_cast<size_t>(c.maxMemory / std::max<size_t>(1, workers));
  if (l1_ && budget == budget_ && l1_->options().maxValueBytes == c.maxValueBytes &&
      l1_->options().maxTtl == cache::Millis(c.maxTtlMs)) {
    return;
  }
  cache::L1Options o;
  o.maxBytes = budget;
  o.maxValueBytes = static_cast<size_t>(c.maxValueBytes) + sizeof(uint64_t);  // + the write stamp
  o.maxTtl = cache::Millis(c.maxTtlMs);
  // A new partition starts with every shard enabled; carry over which shards are covered.
  auto fresh = std::make_unique<cache::L1Cache>(o);
  for (uint32_t slot = 0; slot < tracking_.size(); ++slot) {
    fresh->setShardCaching(slot, l1_ && l1_->shardCaching(slot));
  }
  for (uint32_t slot = static_cast<uint32_t>(tracking_.size()); slot < metrics::ShardDirectory::kMaxSlots; ++slot) {
    fresh->setShardCaching(slot, false);
  }
  if (l1_) evictionsBefore_ += l1_->stats().evictions;
  l1_ = std::move(fresh);
  ++generation_;
  budget_ = budget;
  syncCells();
}

std::vector<cache::HotKeyCount> WorkerCache::takeTop(double decay) {
  if (!counter_) return {};
  std::vector<cache::HotKeyCount> top = counter_->top();
  counter_->decay(decay);
  return top;
}

WorkerCache::Tracking& WorkerCache::tracking(uint32_t slot) {
  if (slot >= tracking_.size()) tracking_.resize(slot + 1);
  return tracking_[slot];
}

void WorkerCache::flush(uint32_t slot, metrics::FlushReason reason) {
  cells_.shard(slot).cacheFlushes[reason].add();
  if (!l1_) return;
  l1_->flushShard(slot);
  syncCells();
}

void WorkerCache::invalidate(uint32_t slot, std::string_view key) {
  if (l1_) l1_->invalidate(slot, key);
}

void WorkerCache::syncCells() {
  cells_.cacheHits.set(hits_);
  cells_.cacheMisses.set(misses_);
  if (!l1_) {
    cells_.cacheBytes.set(0);
    cells_.cacheEntries.set(0);
    return;
  }
  const cache::L1Stats& s = l1_->stats();
  cells_.cacheEvictions.set(evictionsBefore_ + s.evictions);
  cells_.cacheBytes.set(static_cast<int64_t>(s.bytes));
  cells_.cacheEntries.set(static_cast<int64_t>(s.entries));
}

}  // namespace proxy
