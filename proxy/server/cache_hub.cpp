// CacheHub (see the header): subscribers, the hot-key collector and the public API; the
// replicator's tasks are in copy_replicator.cpp.
#include "proxy/server/cache_hub.h"

#include "proxy/log.h"
#include "proxy/metrics/shard_directory.h"
#include "proxy/server/cache_hub_impl.h"

namespace proxy {

namespace {
constexpr double kDecay = 0.5;  // per window: a count is ~2 windows of requests

uint32_t slotOf(const std::string& shard) {
  return static_cast<uint32_t>(metrics::ShardDirectory::instance().slotOf(shard));
}

bool sameEndpoint(const mig::ShardEndpoint& a, const mig::ShardEndpoint& b) {
  return a.host == b.host && a.port == b.port && a.username == b.username && a.password == b.password;
}

// A key for INFO: printable ASCII as is, anything else as \xHH, at most 200 bytes.
std::string shownKey(std::string_view key) {
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (unsigned char c : key.substr(0, 200)) {
    if (c >= 0x21 && c < 0x7f && c != '\\' && c != ',') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}
}  // namespace

InvalidationSubscriber::Events CacheHub::Impl::eventsFor(const std::string& shard) {
  const uint32_t slot = slotOf(shard);
  InvalidationSubscriber::Events e;
  e.ready = [this, shard, slot](int64_t id, const std::string& name) {
    {
      std::lock_guard<std::mutex> lock(mu);
      subscriberIds[shard] = {id, name};
    }
    stats.subscribersUp.fetch_add(1);
    logx::info("cache: invalidation subscriber up shard=" + shard + " client_id=" + std::to_string(id));
    forEachWorker([slot, id, name](Worker* w) { w->trackingReady(slot, id, name); });
  };
  e.lost = [this, shard, slot](const std::string& why) {
    if (!forgetSubscriber(shard)) return;  // still reconnecting: said once already
    logx::warn("cache: invalidation subscriber lost shard=" + shard + " reason=\"" + why +
               "\": the shard's cached entries are dropped until it is back");
    forEachWorker([slot](Worker* w) { w->trackingLost(slot); });
    enqueue({Task::FlushShard, {}, shard});
  };
  e.invalidate = [this, slot](std::vector<std::string> keys) {
    stats.invalidatedKeys.fetch_add(keys.size(), std::memory_order_relaxed);
    auto shared = std::make_shared<const std::vector<std::string>>(std::move(keys));
    forEachWorker([slot, shared](Worker* w) { w->cacheInvalidate(slot, *shared); });
    std::vector<std::string> copied;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const std::string& k : *shared) {
        if (replicated.count(k) > 0) copied.push_back(k);
      }
    }
    if (!copied.empty()) enqueue({Task::Delete, std::move(copied)});
  };
  e.flushAll = [this, shard, slot] {
    forEachWorker([slot](Worker* w) { w->cacheFlush(slot, metrics::kFlushInvalidation); });
    enqueue({Task::FlushShard, {}, shard});
  };
  return e;
}

void CacheHub::Impl::startSubscriber(const std::string& name, const mig::ShardEndpoint& ep, uint32_t heartbeatMs) {
  Sub& s = subs[name];
  s.endpoint = ep;
  s.subscriber = std::make_unique<InvalidationSubscriber>(ep, heartbeatMs, eventsFor(name));
}

// The subscriber's thread is joined: no event of it comes after this.
void CacheHub::Impl::dropSubscriber(const std::string& name) {
  subs.erase(name);
  forgetSubscriber(name);
  const uint32_t slot = slotOf(name);
  forEachWorker([slot](Worker* w) { w->trackingLost(slot); });
}

// The shard's subscriber id is void from now on; true when it was up (then counted down).
bool CacheHub::Impl::forgetSubscriber(const std::string& shard) {
  bool wasUp = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = subscriberIds.find(shard);
    wasUp = it != subscriberIds.end() && it->second.first != 0;
    if (it != subscriberIds.end()) subscriberIds.erase(it);
  }
  if (wasUp) stats.subscribersUp.fetch_sub(1);
  return wasUp;
}

void CacheHub::Impl::collectLoop() {
  std::unique_lock<std::mutex> lock(mu);
  while (!stopping) {
    const auto window = std::chrono::milliseconds(snap.config->hotKeys.windowMs);
    collectorCv.wait_for(lock, window, [this] { return stopping; });
    if (stopping) break;
    const RoutingSnapshot s = snap;
    lock.unlock();
    collectOnce(s);
    lock.lock();
  }
}

void CacheHub::Impl::collectOnce(const RoutingSnapshot& s) {
  const config::ProxyConfig& cfg = *s.config;
  if (!cfg.cache.enabled && cfg.hotKeyReplication.replicas == 0) {
    if (published && !published->keys.empty()) publish(std::make_shared<HotSet>(), cfg, false);
    return;
  }
  struct Gather {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::vector<cache::HotKeyCount>> tops;
  };
  auto gather = std::make_shared<Gather>();
  forEachWorker([gather](Worker* w) {
    auto top = w->cache().takeTop(kDecay);
    std::lock_guard<std::mutex> lock(gather->m);
    gather->tops.push_back(std::move(top));
    gather->cv.notify_all();
  });
  std::vector<std::vector<cache::HotKeyCount>> tops;
  {
    std::unique_lock<std::mutex> lock(gather->m);
    gather->cv.wait_for(lock, std::chrono::seconds(1), [&] { return gather->tops.size() == workers.size(); });
    tops = gather->tops;
  }
  const double seconds = cache::effectiveWindowSeconds(cfg.hotKeys.windowMs / 1000.0, kDecay);
  auto set = std::make_shared<HotSet>();
  set->ranked = cache::mergeHotKeys(tops, cfg.hotKeys.minRate, seconds, cfg.hotKeys.topK);
  for (const cache::HotKey& k : set->ranked) set->keys.insert(k.key);
  // Keys moving between shards (a migration, or a shard auto_eject took out): no copies.
  publish(std::move(set), cfg, s.previous != nullptr || s.ejectedRing != nullptr);
}

// Every worker gets the set; copies follow it (step 1, 2 and the end of step 4).
void CacheHub::Impl::publish(std::shared_ptr<const HotSet> set, const config::ProxyConfig& cfg, bool migrating) {
  auto full = std::make_shared<HotSet>(*set);
  if (cfg.hotKeyReplication.replicas > 0 && !migrating) full->replicated = full->keys;
  std::shared_ptr<const HotSet> frozen = full;
  published = frozen;
  forEachWorker([frozen](Worker* w) { w->cache().setHotSet(frozen); });
  stats.hotKeys.store(frozen->keys.size());
  std::string info = "hot_keys:" + std::to_string(frozen->keys.size()) + "\r\n";
  std::vector<std::pair<std::string, double>> exported;
  for (size_t i = 0; i < frozen->ranked.size(); ++i) {
    const cache::HotKey& k = frozen->ranked[i];
    info += "hotkey_" + std::to_string(i) + ":key=" + shownKey(k.key) + ",rate=" +
            std::to_string(static_cast<uint64_t>(k.rate)) + ",replicated=" +
            (frozen->isReplicated(k.key) ? "1" : "0") + "\r\n";
    if (cfg.hotKeys.exportKeyNames) exported.emplace_back(k.key, k.rate);
  }
  stats.setHot(std::move(info), std::move(exported));
  std::vector<std::string> gone;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const std::string& k : replicated) {
      if (!frozen->isReplicated(k)) gone.push_back(k);
    }
    replicated = frozen->replicated;
  }
  if (!gone.empty()) enqueue({Task::Delete, std::move(gone)});
  if (!frozen->replicated.empty()) {
    enqueue({Task::Refill, std::vector<std::string>(frozen->replicated.begin(), frozen->replicated.end())});
  }
}

CacheHub::CacheHub(std::vector<Worker*> workers, metrics::CacheStats& stats)
    : impl_(std::make_unique<Impl>(std::move(workers), stats)) {}

CacheHub::~CacheHub() { stop(); }

void CacheHub::apply(const RoutingSnapshot& snapshot) {
  Impl& d = *impl_;
  {
    // A new ring during a migration empties the replicated set at the next window (see
    // publish), which deletes every copy on every shard.
    std::lock_guard<std::mutex> lock(d.mu);
    if (d.stopping) return;
    d.snap = snapshot;
  }
  const config::ProxyConfig& cfg = *snapshot.config;
  std::map<std::string, mig::ShardEndpoint> wanted;
  if (cfg.cache.enabled || cfg.hotKeyReplication.replicas > 0) {
    for (const auto& s : cfg.shards) {
      const config::Credentials& c = s.credentials ? *s.credentials : cfg.backend.credentials;
      wanted[s.name] = {s.name, s.address.host, s.address.port, c.username, c.password};
    }
  }
  std::vector<std::string> drop;
  for (const auto& [name, sub] : d.subs) {
    auto it = wanted.find(name);
    if (it == wanted.end() || !sameEndpoint(it->second, sub.endpoint)) drop.push_back(name);
  }
  for (const std::string& name : drop) d.dropSubscriber(name);
  for (const auto& [name, ep] : wanted) {
    if (d.subs.count(name) == 0) d.startSubscriber(name, ep, cfg.cluster.heartbeatMs);
  }
  if (!d.collector.joinable()) {
    d.collector = std::thread([&d] { d.collectLoop(); });
    d.replicator = std::thread([&d] { d.replicateLoop(); });
  }
  d.collectorCv.notify_all();
}

void CacheHub::stop() {
  Impl& d = *impl_;
  {
    std::lock_guard<std::mutex> lock(d.mu);
    if (d.stopping) return;
    d.stopping = true;
  }
  d.collectorCv.notify_all();
  d.tasksCv.notify_all();
  if (d.collector.joinable()) d.collector.join();
  if (d.replicator.joinable()) d.replicator.join();
  d.subs.clear();
}

void CacheHub::beginWrite(std::vector<std::string> keys, Worker* worker, std::function<void()> done) {
  Impl& d = *impl_;
  {
    std::lock_guard<std::mutex> lock(d.mu);
    if (d.stopping) return worker->post(std::move(done));
  }
  d.enqueue({Impl::Task::BeginWrite, std::move(keys), {}, worker, std::move(done)});
}

void CacheHub::endWrite(std::vector<std::string> keys) { impl_->enqueue({Impl::Task::EndWrite, std::move(keys)}); }

void CacheHub::requestRefill(std::string key) {
  {
    // One queued request per key: every reader of a missing copy asks.
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->refillRequested.insert(key).second) return;
  }
  impl_->enqueue({Impl::Task::Refill, {std::move(key)}, "force"});
}

}  // namespace proxy
