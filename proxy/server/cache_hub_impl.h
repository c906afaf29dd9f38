// CacheHub's internals, shared by cache_hub.cpp (subscribers, hot-key collector, the
// public API) and copy_replicator.cpp (the replicator thread's tasks). Not for other users.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "proxy/migration/shard_link.h"
#include "proxy/server/cache_hub.h"
#include "proxy/server/invalidation_subscriber.h"

namespace proxy {

struct CacheHub::Impl {
  using Clock = std::chrono::steady_clock;
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
  std::map<std::string, std::unordered_set<std::string>> undeleted;  // shard -> keys whose copy DEL failed
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
  bool forgetSubscriber(const std::string& shard);
  void collectLoop();
  void collectOnce(const RoutingSnapshot& s);
  void publish(std::shared_ptr<const HotSet> set, const config::ProxyConfig& cfg, bool migrating);
  void replicateLoop();
  void run(Task& task);
  void refill(const std::string& key, bool force);
  void deleteCopies(const std::string& key);
  void retryUndeleted();
  Link* linkTo(const std::string& shard, const RoutingSnapshot& s);
  bool tracked(Link& link, const std::string& shard);
};

}  // namespace proxy
