// CacheHub (see the header): subscribers, the hot-key collector, the copy replicator.
#include "proxy/server/cache_hub.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "proxy/log.h"
#include "proxy/metrics/shard_directory.h"
#include "proxy/migration/shard_link.h"
#include "proxy/server/hot_replicas.h"
#include "proxy/server/invalidation_subscriber.h"

namespace proxy {

namespace {
using Clock = std::chrono::steady_clock;
constexpr double kDecay = 0.5;  // per window: a count is ~2 windows of requests
constexpr uint32_t kLinkTimeoutMs = 1000;

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

struct CacheHub::Impl {
  struct Task {
    enum Kind { Refill, Delete, BeginWrite, EndWrite, FlushShard };
    Task() = default;
    Task(Kind k, std::vector<std::string> ks, std::string sh = {}, Worker* w = nullptr, std::function<void()> d = {})
        : kind(k), keys(std::move(ks)), shard(std::move(sh)), worker(w), done(std::move(d)) {}
    Kind kind = Refill;
    std::vector<std::string> keys;
    std::string shard;  // FlushShard: its name; Refill: "force" skips the ttl/2 rule
    Worker* worker = nullptr;
    std::function<void()> done;
  };
  struct Sub {
    mig::ShardEndpoint endpoint;
    std::unique_ptr<InvalidationSubscriber> subscriber;
  };
  struct Link {
    mig::ShardLink link;
    int64_t trackedId = 0;  // the redirect its CLIENT TRACKING points at (0: none)
  };

  Impl(std::vector<Worker*> w, metrics::CacheStats& s) : workers(std::move(w)), stats(s) {}

  std::vector<Worker*> workers;
  metrics::CacheStats& stats;
  std::mutex mu;
  std::condition_variable collectorCv;
  std::condition_variable tasksCv;
  RoutingSnapshot snap;                         // mu
  bool stopping = false;                        // mu
  std::map<std::string, std::pair<int64_t, std::string>> subscriberIds;  // mu: name -> (id, client name)
  std::deque<Task> tasks;                       // mu
  decltype(HotSet::replicated) replicated;       // mu: the copies that should exist
  std::map<std::string, Sub> subs;              // main thread only
  std::shared_ptr<const HotSet> published;      // collector thread only
  // Replicator thread only:
  std::map<std::string, Link> links;
  std::unordered_map<std::string, int> writesInFlight;
  std::unordered_map<std::string, Clock::time_point> lastRefill;
  std::unordered_set<std::string> withCopies;
  std::unordered_map<std::string, Clock::time_point> lastForced;
  std::unordered_set<std::string> refillRequested;  // mu: readers' requests not run yet
  std::thread collector;
  std::thread replicator;

  void forEachWorker(const std::function<void(Worker*)>& fn) {
    for (Worker* w : workers) w->post([w, fn] { fn(w); });
  }
  void enqueue(Task task) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return;
      tasks.push_back(std::move(task));
    }
    tasksCv.notify_one();
  }
  RoutingSnapshot current() {
    std::lock_guard<std::mutex> lock(mu);
    return snap;
  }
  InvalidationSubscriber::Events eventsFor(const std::string& shard);
  void startSubscriber(const std::string& name, const mig::ShardEndpoint& ep, uint32_t heartbeatMs);
  void dropSubscriber(const std::string& name);
  void collectLoop();
  void collectOnce(const RoutingSnapshot& s);
  void publish(std::shared_ptr<const HotSet> set, const config::ProxyConfig& cfg, bool migrating);
  void replicateLoop();
  void run(Task& task);
  void refill(const std::string& key, bool force);
  void deleteCopies(const std::string& key);
  Link* linkTo(const std::string& shard, const RoutingSnapshot& s);
  bool tracked(Link& link, const std::string& shard);
};

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
    bool wasUp = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto& entry = subscriberIds[shard];
      wasUp = entry.first != 0;
      entry = {0, {}};
    }
    if (!wasUp) return;  // still reconnecting: said once already
    stats.subscribersUp.fetch_sub(1);
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
  bool wasUp = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    wasUp = subscriberIds[name].first != 0;
    subscriberIds.erase(name);
  }
  if (wasUp) stats.subscribersUp.fetch_sub(1);
  const uint32_t slot = slotOf(name);
  forEachWorker([slot](Worker* w) { w->trackingLost(slot); });
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
  publish(std::move(set), cfg, s.previous != nullptr);
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

void CacheHub::Impl::replicateLoop() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu);
      tasksCv.wait(lock, [this] { return stopping || !tasks.empty(); });
      if (stopping) return;
      task = std::move(tasks.front());
      tasks.pop_front();
    }
    run(task);
  }
}

void CacheHub::Impl::run(Task& task) {
  switch (task.kind) {
    case Task::BeginWrite:
      for (const std::string& k : task.keys) {
        ++writesInFlight[k];
        deleteCopies(k);
      }
      task.worker->post(std::move(task.done));
      break;
    case Task::EndWrite:
      for (const std::string& k : task.keys) {
        if (--writesInFlight[k] <= 0) writesInFlight.erase(k);
        refill(k, true);
      }
      break;
    case Task::Refill:
      for (const std::string& k : task.keys) {
        const bool forced = task.shard == "force";
        if (forced) {
          std::lock_guard<std::mutex> lock(mu);
          refillRequested.erase(k);
        }
        // Readers of a key that does not exist find no copy either: at most 10 a second.
        auto& last = lastForced[k];
        if (forced && Clock::now() - last < std::chrono::milliseconds(100)) continue;
        if (forced) last = Clock::now();
        refill(k, forced);
      }
      break;
    case Task::Delete:
      for (const std::string& k : task.keys) deleteCopies(k);
      break;
    case Task::FlushShard: {
      const RoutingSnapshot s = current();
      std::vector<std::string> owned;
      for (const std::string& k : withCopies) {
        const uint32_t owner = s.ring->ownerOf(k);
        if (owner < s.ring->shards().size() && s.ring->shards()[owner].name == task.shard) owned.push_back(k);
      }
      for (const std::string& k : owned) deleteCopies(k);
      break;
    }
  }
  stats.replicas.store(withCopies.size() * current().config->hotKeyReplication.replicas);
}

CacheHub::Impl::Link* CacheHub::Impl::linkTo(const std::string& shard, const RoutingSnapshot& s) {
  for (const auto& sc : s.config->shards) {
    if (sc.name != shard) continue;
    Link& l = links[shard];
    if (l.link.connected()) return &l;
    const config::Credentials& c = sc.credentials ? *sc.credentials : s.config->backend.credentials;
    std::string error;
    l.trackedId = 0;
    if (!l.link.connect({sc.name, sc.address.host, sc.address.port, c.username, c.password}, kLinkTimeoutMs, &error)) {
      return nullptr;
    }
    return &l;
  }
  return nullptr;
}

// The owner's link must be tracked by the owner's subscriber before a DUMP may be trusted:
// then any later write to the key reaches us as an invalidation (step 4).
bool CacheHub::Impl::tracked(Link& l, const std::string& shard) {
  std::pair<int64_t, std::string> sub;
  {
    std::lock_guard<std::mutex> lock(mu);
    sub = subscriberIds[shard];
  }
  if (sub.first == 0) return false;
  if (l.trackedId == sub.first) return true;
  const std::string id = std::to_string(sub.first);
  auto replies = l.link.pipeline({{"CLIENT", "TRACKING", "on", "REDIRECT", id, "OPTIN"}, {"CLIENT", "LIST", "ID", id}});
  if (replies.size() != 2 || !mig::isStatus(replies[0].get(), "OK")) return false;
  const std::string_view line = mig::replyText(replies[1].get());
  if (line.find(" name=" + sub.second + " ") == std::string_view::npos || line.find(" sub=1 ") == std::string_view::npos) {
    return false;
  }
  l.trackedId = sub.first;
  return true;
}

void CacheHub::Impl::refill(const std::string& key, bool force) {
  const RoutingSnapshot s = current();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (replicated.count(key) == 0) return;
  }
  if (s.previous || writesInFlight.count(key) > 0) return;
  const auto& r = s.config->hotKeyReplication;
  auto last = lastRefill.find(key);
  if (!force && last != lastRefill.end() && Clock::now() - last->second < std::chrono::milliseconds(r.ttlMs / 2)) return;
  const uint32_t owner = s.ring->ownerOf(key);
  const std::vector<uint32_t> copies = replicaShards(*s.ring, key, owner, r.replicas);
  Link* origin = linkTo(s.ring->shards()[owner].name, s);
  if (copies.empty() || origin == nullptr || !tracked(*origin, s.ring->shards()[owner].name)) return;
  auto got = origin->link.pipeline({{"SELECT", "0"}, {"CLIENT", "CACHING", "yes"}, {"DUMP", key}, {"PTTL", key}});
  if (got.size() != 4 || !got[2] || !got[3]) return origin->link.reset();
  if (got[2]->type != REDIS_REPLY_STRING) return deleteCopies(key);  // gone (or not readable)
  int64_t ttl = r.ttlMs;
  if (got[3]->type == REDIS_REPLY_INTEGER && got[3]->integer > 0) ttl = std::min<int64_t>(ttl, got[3]->integer);
  const std::string payload(got[2]->str, got[2]->len);
  for (uint32_t c : copies) {
    Link* l = linkTo(s.ring->shards()[c].name, s);
    if (l == nullptr) continue;
    auto put = l->link.pipeline({{"SELECT", std::to_string(s.config->cluster.db)},
                                 {"RESTORE", copyKey(key), std::to_string(ttl), payload, "REPLACE"},
                                 {"SELECT", "0"}});
    if (put.empty()) l->link.reset();
  }
  lastRefill[key] = Clock::now();
  withCopies.insert(key);
}

// On every shard (not only the key's replicas): a copy left behind by an older ring or
// replica count must not be found later by a reader of the current one.
void CacheHub::Impl::deleteCopies(const std::string& key) {
  const RoutingSnapshot s = current();
  for (const auto& shard : s.config->shards) {
    Link* l = linkTo(shard.name, s);
    if (l == nullptr) continue;
    auto del = l->link.pipeline({{"SELECT", std::to_string(s.config->cluster.db)}, {"DEL", copyKey(key)}, {"SELECT", "0"}});
    if (del.empty()) l->link.reset();
  }
  withCopies.erase(key);
  lastRefill.erase(key);
  if (lastForced.size() > 4096) lastForced.clear();  // bounded: only a rate limit
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
