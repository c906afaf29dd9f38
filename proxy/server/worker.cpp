// Worker: the thread, its io_context, its backend connections and its sessions.
#include "proxy/server/worker.h"

#include <boost/asio.hpp>

#include <utility>

#include "proxy/log.h"
#include "proxy/metrics/shard_directory.h"
#include "proxy/server/client_session.h"
#include "proxy/server/tls_contexts.h"

namespace proxy {

namespace asio = boost::asio;

namespace {
constexpr size_t kScratchBytes = 64 * 1024;
// Enough to remember every moving key a busy worker touches during a typical migration;
// past it a request for an unremembered key costs one MIGRATE round trip (NOKEY), no more.
constexpr size_t kMaxMovedKeys = 200'000;
}

// Adapts a shard's metric cells to the pool's counter interface.
class Worker::ShardCounters final : public pool::BackendCounters {
 public:
  ShardCounters(metrics::ShardCells& cells, std::string shard, Worker* dataOwner)
      : cells_(cells), shard_(std::move(shard)), dataOwner_(dataOwner) {}
  void onRequest() override { cells_.requests.add(); }
  void onError(pool::BackendError kind) override { cells_.errors[static_cast<size_t>(kind)].add(); }
  void onConnected(bool up) override {
    cells_.connectionsUp.add(up ? 1 : -1);
    if (dataOwner_ != nullptr) dataOwner_->dataConnectionEvent(shard_, up);
  }
  void onAuthFailed(std::string_view reply) override {
    const bool tls = reply.substr(0, 4) == "TLS:";
    logx::warn(std::string(tls ? "backend TLS failed" : "backend AUTH refused") + " shard=" + shard_ + " reason=\"" +
               std::string(tls ? reply.substr(5) : reply) + "\"");
  }

 private:
  metrics::ShardCells& cells_;
  std::string shard_;
  Worker* dataOwner_;  // set for data connections: their tracking matters to the cache
};

Worker::Worker(size_t index, RoutingSnapshot snapshot, size_t commandCount, TlsContexts tls)
    : index_(index),
      snapshot_(std::move(snapshot)),
      ioc_(std::make_unique<asio::io_context>(1)),
      cells_(commandCount),
      scratch_(kScratchBytes),
      policy_(snapshot_.config->commands),
      auth_(snapshot_.config->auth),
      tls_(std::move(tls)) {}

Worker::~Worker() {
  if (thread_.joinable()) stop();
}

namespace {
pool::BackendOptions backendOptions(const config::ProxyConfig& cfg, size_t s,
                                   const std::shared_ptr<const pool::TlsContext>& tls) {
  pool::BackendOptions o;
  o.tls = tls;
  o.tlsName = cfg.backend.tls.serverName.empty() ? cfg.shards[s].address.host : cfg.backend.tls.serverName;
  o.host = cfg.shards[s].address.host;
  o.port = cfg.shards[s].address.port;
  o.shardName = cfg.shards[s].name;
  o.connectTimeoutMs = cfg.backend.connectTimeoutMs;
  o.timeoutMs = cfg.backend.timeoutMs;
  o.maxPending = cfg.backend.maxPending;
  o.maxBufferBytes = cfg.backend.maxBufferBytes;
  const config::Credentials& c = cfg.shards[s].credentials ? *cfg.shards[s].credentials : cfg.backend.credentials;
  o.username = c.username;
  o.password = c.password;
  return o;
}
}  // namespace

std::unique_ptr<pool::BackendConnection> Worker::makeLink(uint32_t shard, uint32_t timeoutMs) {
  pool::BackendOptions o = backendOptions(*snapshot_.config, shard, tls_.backend);
  o.timeoutMs = timeoutMs;
  auto link = std::make_unique<pool::BackendConnection>(*ioc_, o, countersFor(o.shardName, false), this);
  link->start();
  return link;
}

pool::BackendConnection& Worker::copyBackend(uint32_t shard) {
  copyBackends_.resize(backends_.size());
  auto& conn = copyBackends_[shard];
  if (!conn) {
    pool::BackendOptions o = backendOptions(*snapshot_.config, shard, tls_.backend);
    o.db = snapshot_.config->cluster.db;
    conn = std::make_unique<pool::BackendConnection>(*ioc_, o, countersFor(o.shardName, false), this);
    conn->start();
  }
  return *conn;
}

Worker::ShardCounters* Worker::countersFor(const std::string& name, bool data) {
  auto& slot = counters_[data ? name : name + "\n(link)"];  // no shard name has a newline
  if (!slot) {
    const size_t cell = metrics::ShardDirectory::instance().slotOf(name);
    slot = std::make_unique<ShardCounters>(cells_.shard(cell), name, data ? this : nullptr);
  }
  return slot.get();
}

void Worker::updateShardSlots() {
  const auto& shards = snapshot_.config->shards;
  shardSlots_.resize(shards.size());
  for (size_t s = 0; s < shards.size(); ++s) {
    shardSlots_[s] = static_cast<uint32_t>(metrics::ShardDirectory::instance().slotOf(shards[s].name));
  }
}

void Worker::connectBackends() {
  const config::ProxyConfig& cfg = *snapshot_.config;
  updateShardSlots();
  cache_.configure(cfg, stats_ != nullptr ? stats_->workers : 1);
  backends_.resize(cfg.shards.size());
  shardCounters_.resize(cfg.shards.size());
  for (size_t s = 0; s < cfg.shards.size(); ++s) {
    shardCounters_[s] = countersFor(cfg.shards[s].name);
    const pool::BackendOptions o = backendOptions(cfg, s, tls_.backend);
    for (uint32_t c = 0; c < std::max(1u, cfg.backend.connections); ++c) {
      backends_[s].push_back(std::make_unique<pool::BackendConnection>(*ioc_, o, shardCounters_[s], this));
      backends_[s].back()->start();
    }
  }
}

void Worker::post(std::function<void()> fn) { asio::post(*ioc_, std::move(fn)); }

void Worker::start() {
  // Backends are created on the worker thread so every handler of theirs runs there.
  asio::post(*ioc_, [this] {
    connectBackends();
    if (snapshot_.config->limits.idleTimeoutS > 0) sweepIdle();
  });
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(*ioc_);
    ioc_->run();
  });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  asio::post(*ioc_, [this] { beginShutdown(); });
  thread_.join();
}

void Worker::beginShutdown() {
  shuttingDown_ = true;
  // Copy: shutdown() may release sessions from the map.
  std::vector<std::shared_ptr<ClientSession>> all;
  all.reserve(sessions_.size());
  for (auto& [ptr, s] : sessions_) all.push_back(s);
  for (auto& s : all) s->shutdown();
  const auto grace = std::chrono::milliseconds(snapshot_.config->backend.timeoutMs + 1000);
  checkShutdown(std::chrono::steady_clock::now() + grace);
}

void Worker::checkShutdown(std::chrono::steady_clock::time_point deadline) {
  if (!sessions_.empty() && std::chrono::steady_clock::now() < deadline) {
    auto timer = std::make_shared<asio::steady_timer>(*ioc_, std::chrono::milliseconds(20));
    timer->async_wait([this, timer, deadline](const boost::system::error_code&) {
      checkShutdown(deadline);
    });
    return;
  }
  // Backends first: their failure callbacks still find the sessions alive.
  for (auto& shard : backends_) {
    for (auto& conn : shard) conn->stop();
  }
  for (auto& conn : retiredBackends_) conn->stop();
  for (auto& conn : copyBackends_) {
    if (conn) conn->stop();
  }
  for (auto& [ptr, s] : sessions_) s->close();
  dirty_.clear();
  dirtyBackends_.clear();
  sessions_.clear();
  backends_.clear();
  copyBackends_.clear();
  retiredBackends_.clear();
  ioc_->stop();
}

namespace {
// Counts the PINGs of one drain; frees itself after the last answer.
class DrainSink final : public pool::ReplySink {
 public:
  explicit DrainSink(std::function<void()> done) : done_(std::move(done)) {}
  void expect() { ++left_; }
  void arm() {
    armed_ = true;
    finishIfDone();
  }
  void onReply(uint64_t, std::string_view) override { --left_, finishIfDone(); }
  void onError(uint64_t, pool::BackendError) override { --left_, finishIfDone(); }

 private:
  void finishIfDone() {
    if (!armed_ || left_ > 0) return;
    auto done = std::move(done_);
    delete this;
    done();
  }
  std::function<void()> done_;
  size_t left_ = 0;
  bool armed_ = false;
};
}  // namespace

void Worker::drainBackends(std::function<void()> drained) {
  auto* sink = new DrainSink(std::move(drained));
  const auto ping = [sink](pool::BackendConnection& conn) {
    sink->expect();
    if (conn.send("*1\r\n$4\r\nPING\r\n", sink, 0)) sink->onError(0, pool::BackendError::Unavailable);
  };
  for (auto& shard : backends_) {
    for (auto& conn : shard) ping(*conn);
  }
  for (auto& conn : retiredBackends_) ping(*conn);
  sink->arm();
}

void Worker::applySnapshot(RoutingSnapshot next, std::function<void()> drained) {
  if (!sameTls(next.config->tls, snapshot_.config->tls) ||
      !sameTls(next.config->backend.tls, snapshot_.config->backend.tls)) {
    std::string error;  // the reloader built them once already: a failure here is rare
    if (auto built = buildTlsContexts(*next.config, &error)) tls_ = std::move(*built);
    else logx::error("TLS settings not applied: " + error);
  }
  retired_.push_back(snapshot_.config);
  if (retired_.size() > 16) retired_.erase(retired_.begin());
  const bool newEpoch = next.epoch != snapshot_.epoch;
  const bool ejectionChanged = next.ejected != snapshot_.ejected;
  if (newEpoch) movedKeys_.clear();
  const config::ProxyConfig& old = *snapshot_.config;
  const config::ProxyConfig& cfg = *next.config;
  std::vector<std::vector<std::unique_ptr<pool::BackendConnection>>> conns(cfg.shards.size());
  std::vector<ShardCounters*> counters(cfg.shards.size());
  for (size_t s = 0; s < cfg.shards.size(); ++s) {
    counters[s] = countersFor(cfg.shards[s].name);
    const pool::BackendOptions o = backendOptions(cfg, s, tls_.backend);
    for (size_t k = 0; k < old.shards.size() && k < backends_.size(); ++k) {
      if (old.shards[k].name == cfg.shards[s].name) conns[s] = std::move(backends_[k]);
    }
    for (auto& conn : conns[s]) conn->updateOptions(o);
    while (conns[s].size() < std::max(1u, cfg.backend.connections)) {
      conns[s].push_back(std::make_unique<pool::BackendConnection>(*ioc_, o, counters[s], this));
      conns[s].back()->start();
    }
  }
  for (auto& left : backends_) retire(std::move(left));  // shards no longer in the list
  retire(std::move(copyBackends_));                       // indices may have changed
  copyBackends_.clear();
  backends_ = std::move(conns);
  shardCounters_ = std::move(counters);
  const RoutingSnapshot before = std::exchange(snapshot_, std::move(next));
  // auto_eject moved keys between shards, as a new ring does: cached values go too.
  applyCacheSettings(newEpoch || ejectionChanged);
  if (ejectionChanged) ejectionApplied(before);
  policy_ = CommandPolicy(snapshot_.config->commands);
  auth_ = Authenticator(snapshot_.config->auth);
  const bool sweeping = idleSweep_;
  if (!sweeping && snapshot_.config->limits.idleTimeoutS > 0) sweepIdle();
  std::vector<std::weak_ptr<ClientSession>> held;
  held.swap(held_);
  for (auto& weak : held) {
    if (auto session = weak.lock()) session->snapshotChanged();
  }
  if (drained) drainBackends(std::move(drained));
}

// A new epoch is a new ring or a cut-over, and auto_eject ejected a shard or took one back
// (the caller says so with newEpoch too): keys may have changed owner, so every shard's
// entries go (the connections and their tracking stay: caching goes on at once). Kept
// shards' connections were re-optioned above; new shards' set tracking up as they connect.
void Worker::applyCacheSettings(bool newEpoch) {
  const bool wasOn = cache_.enabled();
  updateShardSlots();
  cache_.configure(*snapshot_.config, stats_ != nullptr ? stats_->workers : 1);
  if (!cache_.enabled()) return;
  if (!wasOn) return setupAllTracking();
  if (!newEpoch) return;
  for (uint32_t s = 0; s < shardSlots_.size(); ++s) cache_.flush(shardSlots_[s], metrics::kFlushRingChange);
}

// A shard taken back answers its probes, but this worker's connections to it may still wait
// out a reconnect backoff (up to 5 s): they connect now, before its keys arrive. Subscribed
// clients whose subscriptions no longer match the routing are closed (pubsub.cpp).
void Worker::ejectionApplied(const RoutingSnapshot& before) {
  const auto& shards = snapshot_.config->shards;
  for (size_t s = 0; s < shards.size() && s < backends_.size(); ++s) {
    if (snapshot_.isEjected(static_cast<uint32_t>(s))) continue;
    for (auto& conn : backends_[s]) conn->retryNow();
  }
  std::vector<std::shared_ptr<ClientSession>> all;
  all.reserve(sessions_.size());
  for (auto& [ptr, session] : sessions_) all.push_back(session);
  for (auto& session : all) session->routingChanged(before);
}

void Worker::holdUntilNextSnapshot(std::shared_ptr<ClientSession> session) { held_.push_back(std::move(session)); }

void Worker::retire(std::vector<std::unique_ptr<pool::BackendConnection>> connections) {
  for (auto& conn : connections) {
    if (conn) retiredBackends_.push_back(std::move(conn));
  }
  if (!retiredBackends_.empty() && !retireCheck_) closeRetired();
}

// A removed shard's connections may still carry requests sent under the previous
// snapshot: they close when those are answered (or have timed out).
void Worker::closeRetired() {
  std::erase_if(retiredBackends_, [](const std::unique_ptr<pool::BackendConnection>& conn) {
    if (conn->pending() > 0) return false;
    conn->stop();
    return true;
  });
  retireCheck_ = !retiredBackends_.empty() && !shuttingDown_;
  if (!retireCheck_) return;
  auto timer = std::make_shared<asio::steady_timer>(*ioc_, std::chrono::milliseconds(100));
  timer->async_wait([this, timer](const boost::system::error_code&) { closeRetired(); });
}

bool Worker::knownMoved(std::string_view key) const {
  return !movedKeys_.empty() && movedKeys_.count(std::string(key)) > 0;
}

void Worker::noteMoved(std::string_view key) {
  if (movedKeys_.size() < kMaxMovedKeys) movedKeys_.emplace(key);
}

// Once a second: close clients idle longer than limits.idle_timeout_s.
void Worker::sweepIdle() {
  idleSweep_ = !shuttingDown_ && snapshot_.config->limits.idleTimeoutS > 0;
  if (!idleSweep_) return;
  const auto now = std::chrono::steady_clock::now();
  const std::chrono::seconds timeout(snapshot_.config->limits.idleTimeoutS);
  std::vector<std::shared_ptr<ClientSession>> all;
  all.reserve(sessions_.size());
  for (auto& [ptr, s] : sessions_) all.push_back(s);
  for (auto& s : all) s->closeIfIdle(now, timeout);
  auto timer = std::make_shared<asio::steady_timer>(*ioc_, std::chrono::seconds(1));
  timer->async_wait([this, timer](const boost::system::error_code& ec) {
    if (!ec) sweepIdle();
  });
}

void Worker::addSession(std::shared_ptr<ClientSession> session) {
  ClientSession* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  if (shuttingDown_) {
    raw->shutdown();
    return;
  }
  raw->start();
}

void Worker::releaseSession(ClientSession* session) {
  // Deferred: the caller is a member function of the session.
  asio::post(*ioc_, [this, session] { sessions_.erase(session); });
}

void Worker::markDirty(ClientSession* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  dirty_.push_back(it->second);
  postFlush();
}

// Backend writes wait for the end of the loop turn (a posted flush runs after every
// handler that was ready), so the requests of all clients served in one turn leave in one
// write per shard. The shard then reads many requests per system call; that halves its
// CPU per request at -P 1 with many clients. The price is one epoll_wait(0) per turn.
void Worker::backendDirty(pool::BackendConnection* connection) {
  dirtyBackends_.push_back(connection);
  if (flushPosted_) return;
  flushPosted_ = true;
  asio::post(*ioc_, [this] {
    flushPosted_ = false;
    flushPending();
  });
}

void Worker::backendGone(pool::BackendConnection* connection) {
  std::erase(dirtyBackends_, connection);
}

void Worker::postFlush() {
  if (batchDepth_ > 0 || flushPosted_) return;
  flushPosted_ = true;
  asio::post(*ioc_, [this] {
    flushPosted_ = false;
    flushPending();
  });
}

// The end of one event's handling. A client with every reply in goes out now; one still
// waiting for other shards' replies waits for the end of the loop turn, so replies from
// several shards read in the same turn leave in one write. Backend requests always wait
// for the posted end-of-turn flush.
void Worker::endBatch() {
  if (--batchDepth_ > 0) return;
  if (dirty_.empty()) return;
  ++batchDepth_;
  std::vector<std::shared_ptr<ClientSession>> sessions;
  sessions.swap(dirty_);
  for (auto& s : sessions) {
    if (s->awaitingReplies()) dirty_.push_back(std::move(s));
    else s->flushOutput();
  }
  sessions.clear();
  --batchDepth_;
  if (!dirty_.empty()) postFlush();
}

void Worker::flushPending() {
  ++batchDepth_;  // flushing may fail a backend, which dirties sessions: loop until quiet
  std::vector<pool::BackendConnection*> backends;
  std::vector<std::shared_ptr<ClientSession>> sessions;
  while (!dirtyBackends_.empty() || !dirty_.empty()) {
    backends.swap(dirtyBackends_);
    for (pool::BackendConnection* b : backends) b->flush();
    backends.clear();
    sessions.swap(dirty_);
    for (auto& s : sessions) s->flushOutput();
    sessions.clear();
  }
  // Keep the capacity of the lists for the next batch.
  dirtyBackends_.swap(backends);
  dirty_.swap(sessions);
  --batchDepth_;
}

pool::BackendConnection& Worker::backend(uint32_t shard, uint64_t clientId) {
  // One client always uses the same connection to a shard, so its requests execute in
  // the order it sent them (read-your-writes within a pipeline).
  auto& conns = backends_[shard];
  return *conns[clientId % conns.size()];
}

const std::string& Worker::shardName(uint32_t shard) const {
  // A reply slot may name a shard of an older snapshot (indices change with the list).
  static const std::string kGone = "(removed)";
  const auto& shards = snapshot_.config->shards;
  return shard < shards.size() ? shards[shard].name : kGone;
}

}  // namespace proxy
