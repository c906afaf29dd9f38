// ShardProber (see the header): the probe thread, the per-shard failure counts and the
// ejection rules.
#include "proxy/server/shard_prober.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "proxy/log.h"
#include "proxy/migration/shard_link.h"

namespace proxy {

namespace {
using Clock = std::chrono::steady_clock;

bool sameEndpoint(const mig::ShardEndpoint& a, const mig::ShardEndpoint& b) {
  return a.host == b.host && a.port == b.port && a.username == b.username && a.password == b.password;
}

int64_t msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}
}  // namespace

struct ShardProber::Impl {
  struct Settings {
    config::AutoEjectConfig eject;
    uint32_t connectTimeoutMs = 1000;
    std::vector<mig::ShardEndpoint> shards;  // weight > 0 only: the others own no keys
  };
  // One probed shard; touched by the probe thread only.
  struct Shard {
    mig::ShardEndpoint endpoint;
    mig::ShardLink link;
    uint32_t failures = 0;
    bool ejected = false;
    bool keptLogged = false;  // "the last shard with keys stays" said once per outage
    Clock::time_point ejectedAt;
  };

  explicit Impl(Changed c) : changed(std::move(c)) {}

  Changed changed;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::optional<Settings> pending;  // from configure(), picked up by the thread
  std::thread thread;
  // Probe thread only.
  Settings settings;
  std::vector<std::unique_ptr<Shard>> shards;  // in config order

  void run();
  void apply(Settings next);
  void probeAll();
  bool probe(Shard& shard, std::string& why) const;
  void report();
  std::vector<std::string> ejectedNames() const;
  size_t liveOthers(const Shard& except) const;
};

void ShardProber::Impl::run() {
  std::unique_lock<std::mutex> lock(mu);
  while (!stopping) {
    if (pending) {
      Settings next = std::move(*pending);
      pending.reset();
      lock.unlock();
      apply(std::move(next));
      lock.lock();
      continue;
    }
    if (!settings.eject.enabled) {
      cv.wait(lock, [this] { return stopping || pending.has_value(); });
      continue;
    }
    lock.unlock();
    const Clock::time_point round = Clock::now();
    probeAll();
    lock.lock();
    cv.wait_until(lock, round + std::chrono::milliseconds(settings.eject.probeIntervalMs),
                  [this] { return stopping || pending.has_value(); });
  }
}

// Shards keep their state (failures, ejection) across a reload unless their address or
// credentials changed; auto_eject off forgets every shard, so all are back.
void ShardProber::Impl::apply(Settings next) {
  const std::vector<std::string> before = ejectedNames();
  std::vector<std::unique_ptr<Shard>> kept;
  if (next.eject.enabled) {
    for (const mig::ShardEndpoint& ep : next.shards) {
      auto it = std::find_if(shards.begin(), shards.end(), [&](const std::unique_ptr<Shard>& s) {
        return s && s->endpoint.name == ep.name && sameEndpoint(s->endpoint, ep);
      });
      if (it != shards.end()) {
        kept.push_back(std::move(*it));
      } else {
        kept.push_back(std::make_unique<Shard>());
        kept.back()->endpoint = ep;
      }
    }
  }
  for (const auto& s : shards) {
    if (s && s->ejected) {
      logx::info("backend shard back in routing (auto_eject) shard=" + s->endpoint.name +
                 " reason=\"auto_eject turned off, or the shard's address or credentials changed\"");
    }
  }
  shards = std::move(kept);
  settings = std::move(next);
  if (ejectedNames() != before) report();
}

void ShardProber::Impl::probeAll() {
  const auto retry = std::chrono::milliseconds(settings.eject.retryMs);
  bool change = false;
  for (auto& ptr : shards) {
    Shard& s = *ptr;
    if (s.ejected && Clock::now() < s.ejectedAt + retry) continue;
    std::string why;
    if (probe(s, why)) {
      if (s.ejected) {
        logx::info("backend shard back in routing (auto_eject) shard=" + s.endpoint.name +
                   " ejected_ms=" + std::to_string(msSince(s.ejectedAt)) + ": its keys go to it again");
        change = true;
      }
      s.ejected = false;
      s.failures = 0;
      s.keptLogged = false;
      continue;
    }
    ++s.failures;
    if (s.ejected || s.failures < settings.eject.failureLimit) continue;
    if (liveOthers(s) == 0) {
      if (!s.keptLogged) {
        logx::warn("backend shard not ejected (auto_eject) shard=" + s.endpoint.name + " failures=" +
                   std::to_string(s.failures) + " reason=\"" + why +
                   "\": it is the last shard with keys in routing; its requests fail until it answers");
      }
      s.keptLogged = true;
      continue;
    }
    s.ejected = true;
    s.ejectedAt = Clock::now();
    change = true;
    logx::warn("backend shard ejected (auto_eject) shard=" + s.endpoint.name + " failures=" +
               std::to_string(s.failures) + " reason=\"" + why +
               "\": its keys go to the other shards until it answers a PING again (probed from " +
               std::to_string(settings.eject.retryMs) + " ms on)");
  }
  if (change) report();
}

bool ShardProber::Impl::probe(Shard& s, std::string& why) const {
  const uint32_t timeoutMs = std::min(settings.eject.probeIntervalMs, settings.connectTimeoutMs);
  if (!s.link.connected() && !s.link.connect(s.endpoint, timeoutMs, &why)) return false;
  const mig::ReplyPtr reply = s.link.command({"PING"});
  if (!reply) {
    why = s.link.error();  // the link closed itself
    return false;
  }
  if (mig::isStatus(reply.get(), "PONG")) return true;
  why = mig::describeReply(reply.get());  // -LOADING, -NOAUTH, -MASTERDOWN...
  s.link.reset();
  return false;
}

void ShardProber::Impl::report() {
  if (changed) changed(ejectedNames());
}

std::vector<std::string> ShardProber::Impl::ejectedNames() const {
  std::vector<std::string> names;
  for (const auto& s : shards) {
    if (s->ejected) names.push_back(s->endpoint.name);
  }
  return names;
}

size_t ShardProber::Impl::liveOthers(const Shard& except) const {
  return static_cast<size_t>(std::count_if(shards.begin(), shards.end(), [&](const std::unique_ptr<Shard>& s) {
    return s.get() != &except && !s->ejected;
  }));
}

ShardProber::ShardProber(Changed changed) : impl_(std::make_unique<Impl>(std::move(changed))) {
  impl_->thread = std::thread([this] { impl_->run(); });
}

ShardProber::~ShardProber() { stop(); }

void ShardProber::configure(const config::ProxyConfig& cfg) {
  Impl::Settings next;
  next.eject = cfg.backend.autoEject;
  next.connectTimeoutMs = cfg.backend.connectTimeoutMs;
  for (const config::ShardConfig& s : cfg.shards) {
    if (s.weight == 0) continue;
    const config::Credentials& c = s.credentials ? *s.credentials : cfg.backend.credentials;
    next.shards.push_back({s.name, s.address.host, s.address.port, c.username, c.password});
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->pending = std::move(next);
  }
  impl_->cv.notify_all();
}

void ShardProber::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace proxy
