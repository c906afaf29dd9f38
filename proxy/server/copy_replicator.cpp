// CacheHub's replicator thread: hot-key copies written (refill), deleted, and the write
// gate (beginWrite / endWrite). One thread, so a copy's writes and deletes never race
// (steps 1-4 in cache_hub.h).
#include "proxy/server/cache_hub_impl.h"
#include "proxy/server/hot_replicas.h"

namespace proxy {

namespace {
constexpr uint32_t kLinkTimeoutMs = 1000;
}  // namespace

void CacheHub::Impl::replicateLoop() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu);
      // Copies a shard could not delete are retried every half second.
      const auto retry = undeleted.empty() ? std::chrono::hours(1) : std::chrono::milliseconds(500);
      tasksCv.wait_for(lock, retry, [this] { return stopping || !tasks.empty(); });
      if (stopping) return;
      if (tasks.empty()) {
        lock.unlock();
        retryUndeleted();
        continue;
      }
      task = std::move(tasks.front());
      tasks.pop_front();
    }
    run(task);
  }
}

// A copy a shard did not delete (unreachable) must go as soon as it can be reached: a
// reader reaching that shard first could read it (bounded by ttl_ms in the worst case).
void CacheHub::Impl::retryUndeleted() {
  const RoutingSnapshot s = current();
  for (auto it = undeleted.begin(); it != undeleted.end();) {
    Link* l = linkTo(it->first, s);
    std::vector<mig::Argv> dels{{"SELECT", std::to_string(s.config->cluster.db)}};
    for (const std::string& key : it->second) dels.push_back({"DEL", copyKey(key)});
    dels.push_back({"SELECT", "0"});
    if (l == nullptr || l->link.pipeline(dels).empty()) {
      if (l != nullptr) l->link.reset();
      ++it;
      continue;
    }
    it = undeleted.erase(it);
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
        const uint32_t owner = s.ownerOf(k);
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
  if (s.previous || s.ejectedRing || writesInFlight.count(key) > 0) return;
  const auto& r = s.config->hotKeyReplication;
  auto last = lastRefill.find(key);
  if (!force && last != lastRefill.end() && Clock::now() - last->second < std::chrono::milliseconds(r.ttlMs / 2)) return;
  const uint32_t owner = s.ownerOf(key);
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
    auto del = l == nullptr ? std::vector<mig::ReplyPtr>()
                            : l->link.pipeline({{"SELECT", std::to_string(s.config->cluster.db)},
                                                {"DEL", copyKey(key)}, {"SELECT", "0"}});
    if (!del.empty()) continue;
    if (l != nullptr) l->link.reset();
    if (undeleted.size() < 1024 || undeleted.count(shard.name) > 0) {
      auto& keys = undeleted[shard.name];
      if (keys.size() < 100000) keys.insert(key);  // bounded; past it ttl_ms bounds them
    }
  }
  withCopies.erase(key);
  lastRefill.erase(key);
  if (lastForced.size() > 4096) lastForced.clear();  // bounded: only a rate limit
}

}  // namespace proxy
