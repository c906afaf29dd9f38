// Server: listener, workers, metrics endpoint and signals.
#include "proxy/server/server.h"

#include <boost/asio.hpp>
#include <prometheus/exposer.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "config/config_loader.h"
#include "proxy/command/command_table.h"
#include "proxy/errors.h"
#include "proxy/log.h"
#include "proxy/metrics/metrics_collector.h"
#include "proxy/metrics/shard_directory.h"
#include "proxy/server/cache_hub.h"
#include "proxy/server/client_session.h"
#include "proxy/server/config_reloader.h"
#include "proxy/server/health_server.h"
#include "proxy/server/migration_coordinator.h"
#include "proxy/server/shard_prober.h"
#include "proxy/server/tls_contexts.h"
#include "proxy/server/worker.h"

namespace proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Server::Impl {
  explicit Impl(std::shared_ptr<const config::ProxyConfig> cfg) : config(std::move(cfg)) {}

  std::shared_ptr<const config::ProxyConfig> config;
  asio::io_context ioc{1};
  std::unique_ptr<tcp::acceptor> acceptor;
  asio::signal_set signals{ioc};
  std::vector<std::unique_ptr<Worker>> workers;
  size_t nextWorker = 0;
  uint64_t nextClientId = 1;
  std::shared_ptr<metrics::MetricsCollector> collector;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::unique_ptr<HealthServer> health;
  ProcessStats stats;
  metrics::ReloadStats reloadStats;
  metrics::MigrationStats migrationStats;
  std::unique_ptr<MigrationCoordinator> coordinator;
  metrics::CacheStats cacheStats;
  std::unique_ptr<CacheHub> hub;  // stopped before the workers go (it posts to them)
  std::unique_ptr<ConfigReloader> reloader;
  // backend.auto_eject: decides which shards are ejected; the coordinator routes around them.
  std::unique_ptr<ShardProber> prober;
  metrics::EjectStats ejectStats;
  uint64_t publishSeq = 0;
  std::vector<std::string> routedEjected;  // ejected shards every worker routes without
  bool stopping = false;

  void startWorkers(RoutingSnapshot snap);
  std::string cacheInfo(const config::ProxyConfig& cfg) const;
  void publish(RoutingSnapshot snap, std::function<void()> applied);
  void startProber();
  void noteEjection(const RoutingSnapshot& snap);
  void startListener();
  void startMetrics();
  void startHealth();
  void startReloader();
  bool anyShardUp() const;
  void shutdown();
  void accept();
  void onAccepted(Worker& worker, tcp::socket socket);
  size_t connectedClients() const;
  void waitSignals();
};

void Server::Impl::startWorkers(RoutingSnapshot snap) {
  size_t n = config->threads;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  stats.migration = &migrationStats;
  std::string tlsError;
  const std::optional<TlsContexts> built = buildTlsContexts(*config, &tlsError);
  if (!built) throw std::runtime_error(tlsError);
  const TlsContexts tls = *built;
  stats.workers = n;
  stats.port = config->listen.port;
  stats.connectedClients = [this] { return connectedClients(); };
  stats.totalCommands = [this] {
    uint64_t total = 0;
    for (const auto& w : workers) {
      for (size_t c = 0; c <= w->cells().commandCount(); ++c) total += w->cells().requests(c);
    }
    return total;
  };
  for (size_t i = 0; i < n; ++i) {
    workers.push_back(std::make_unique<Worker>(i, snap, cmd::allCommands().size(), tls));
    workers.back()->setProcessStats(&stats);
  }
  std::vector<Worker*> raw;
  for (auto& w : workers) raw.push_back(w.get());
  hub = std::make_unique<CacheHub>(raw, cacheStats);
  for (auto& w : workers) w->setCacheHub(hub.get());
  stats.cacheInfo = [this](const config::ProxyConfig& cfg) { return cacheInfo(cfg); };
  stats.hotkeyInfo = [this] { return cacheStats.info(); };
  for (auto& w : workers) w->start();
  hub->apply(snap);
}

// INFO's Cache section; reads the workers' cells and the hub's atomics only.
std::string Server::Impl::cacheInfo(const config::ProxyConfig& cfg) const {
  uint64_t hits = 0, misses = 0, evictions = 0;
  int64_t bytes = 0, entries = 0;
  for (const auto& w : workers) {
    hits += w->cells().cacheHits.get();
    misses += w->cells().cacheMisses.get();
    evictions += w->cells().cacheEvictions.get();
    bytes += w->cells().cacheBytes.get();
    entries += w->cells().cacheEntries.get();
  }
  const auto line = [](std::string_view k, const std::string& v) { return std::string(k) + ":" + v + "\r\n"; };
  std::string text = line("cache_enabled", cfg.cache.enabled ? "1" : "0");
  if (!cfg.cache.enabled) return text;
  text += line("cache_admit", cfg.cache.admit == config::CacheAdmit::All ? "all" : "hot");
  text += line("cache_max_memory", std::to_string(cfg.cache.maxMemory));
  text += line("cache_bytes", std::to_string(bytes));
  text += line("cache_entries", std::to_string(entries));
  text += line("cache_hits", std::to_string(hits));
  text += line("cache_misses", std::to_string(misses));
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.4f", hits + misses == 0 ? 0.0 : double(hits) / double(hits + misses));
  text += line("cache_hit_ratio", ratio);
  text += line("cache_evictions", std::to_string(evictions));
  text += line("cache_invalidated_keys", std::to_string(cacheStats.invalidatedKeys.load()));
  text += line("cache_subscribers_up", std::to_string(cacheStats.subscribersUp.load()) + "/" +
                                           std::to_string(cfg.shards.size()));
  text += line("hot_key_replicas", std::to_string(cacheStats.replicas.load()));
  return text;
}

void Server::Impl::startListener() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(config->listen.host, ec);
  if (ec) throw std::runtime_error("listen: cannot use address '" + config->listen.host + "'");
  tcp::endpoint ep(addr, config->listen.port);
  acceptor = std::make_unique<tcp::acceptor>(ioc);
  acceptor->open(ep.protocol());
  acceptor->set_option(tcp::acceptor::reuse_address(true));
  acceptor->bind(ep, ec);
  if (ec) throw std::runtime_error("listen: cannot bind " + config->listen.str() + ": " + ec.message());
  acceptor->listen(asio::socket_base::max_listen_connections);
  // accept() starts when the coordinator is ready (see MigrationCoordinator::start): the
  // port is bound now, so clients queue in the backlog meanwhile.
}

void Server::Impl::startMetrics() {
  if (!config->metrics.enabled) return;
  std::vector<std::string> commands;
  for (const auto& c : cmd::allCommands()) commands.emplace_back(c.name);
  std::vector<const metrics::WorkerCells*> cells;
  for (const auto& w : workers) cells.push_back(&w->cells());
  collector = std::make_shared<metrics::MetricsCollector>(commands, cells, &reloadStats, &migrationStats, &cacheStats);
  collector->setEjectStats(&ejectStats);
  try {
    exposer = std::make_unique<prometheus::Exposer>(config->metrics.listen.str());
  } catch (const std::exception& e) {
    throw std::runtime_error("metrics.listen: cannot serve on " + config->metrics.listen.str() + ": " + e.what());
  }
  exposer->RegisterCollectable(collector);
}

// New settings reach each worker as an immutable config posted to its own thread.
void Server::Impl::startReloader() {
  reloader = std::make_unique<ConfigReloader>(ioc, config, [this](std::shared_ptr<const config::ProxyConfig> next) {
    config = next;
    if (prober) prober->configure(*next);
    coordinator->onReload(std::move(next));
  }, reloadStats);
  reloader->start();
}

// Each worker gets the snapshot on its own thread; `applied` runs here once all have it
// and every request they sent before it has been answered (the migration barrier).
void Server::Impl::publish(RoutingSnapshot snap, std::function<void()> applied) {
  auto left = std::make_shared<size_t>(workers.size());
  auto done = std::make_shared<std::function<void()>>(
      [this, seq = ++publishSeq, snap, applied = std::move(applied)] {
        if (seq == publishSeq) noteEjection(snap);  // a newer snapshot will say it otherwise
        if (applied) applied();
      });
  if (hub) hub->apply(snap);
  for (auto& w : workers) {
    Worker* worker = w.get();
    asio::post(worker->ioc(), [this, worker, snap, left, done] {
      worker->applySnapshot(snap, [this, left, done] {
        asio::post(ioc, [left, done] {
          if (--*left == 0 && *done) (*done)();
        });
      });
    });
  }
}

// The prober's decisions reach the coordinator on this thread, which publishes them.
void Server::Impl::startProber() {
  prober = std::make_unique<ShardProber>([this](std::vector<std::string> names) {
    asio::post(ioc, [this, names = std::move(names)]() mutable {
      if (!stopping) coordinator->setEjected(std::move(names));
    });
  });
  prober->configure(*config);
}

// The metrics say what the workers do: a shard counts as ejected once every worker routes
// without it (so not while a migration suspends the ejection).
void Server::Impl::noteEjection(const RoutingSnapshot& snap) {
  std::vector<std::string> now;
  for (size_t s = 0; s < snap.config->shards.size(); ++s) {
    if (snap.isEjected(static_cast<uint32_t>(s))) now.push_back(snap.config->shards[s].name);
  }
  if (now == routedEjected) return;
  metrics::ShardDirectory& directory = metrics::ShardDirectory::instance();
  for (const std::string& name : routedEjected) ejectStats.ejected[directory.slotOf(name)].store(0);
  for (const std::string& name : now) {
    const size_t slot = directory.slotOf(name);
    if (std::find(routedEjected.begin(), routedEjected.end(), name) == routedEjected.end()) {
      ejectStats.ejections[slot].fetch_add(1);
    }
    ejectStats.ejected[slot].store(1);
  }
  routedEjected = std::move(now);
}

bool Server::Impl::anyShardUp() const {
  for (const auto& w : workers) {
    for (size_t s = 0; s < metrics::ShardDirectory::instance().size(); ++s) {
      if (w->cells().shard(s).connectionsUp.get() > 0) return true;
    }
  }
  return false;
}

void Server::Impl::startHealth() {
  if (!config->health.enabled) return;
  // Called on civetweb threads: reads the workers' atomic gauges only.
  health = std::make_unique<HealthServer>(config->health.listen.str(), [this] { return anyShardUp(); });
}

// civetweb's stop waits out a 2 s poll unless a connection wakes its listener.
static void wakeHttpListener(const config::Endpoint& ep) {
  boost::system::error_code ec;
  asio::io_context io;
  tcp::socket s(io);
  auto addr = asio::ip::make_address(ep.host == "0.0.0.0" ? "127.0.0.1" : ep.host, ec);
  if (!ec) s.connect(tcp::endpoint(addr, ep.port), ec);
}

// civetweb's stop sets a flag and joins its listener, which only looks at the flag when
// its 2 s poll returns: keep poking the port from a second thread until the stop is done.
template <typename HttpServer>
void stopHttp(std::unique_ptr<HttpServer>& server, const config::Endpoint& ep) {
  if (!server) return;
  std::atomic<bool> stopped{false};
  std::thread waker([&] {
    while (!stopped.load()) {
      wakeHttpListener(ep);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  server.reset();
  stopped = true;
  waker.join();
}

// Order matters: the main io_context still owns an aborted accept whose socket belongs to
// a worker's io_context, so it is drained before the workers go.
void Server::Impl::shutdown() {
  // The HTTP servers' threads read worker cells (/metrics) and the workers list (/readyz):
  // they stop before any worker is freed.
  stopHttp(exposer, config->metrics.listen);
  stopHttp(health, config->health.listen);
  stopping = true;
  if (prober) prober->stop();
  reloader.reset();
  if (coordinator) coordinator->stop();
  acceptor.reset();
  ioc.restart();
  ioc.poll();
  if (hub) hub->stop();
  workers.clear();
}

size_t Server::Impl::connectedClients() const {
  int64_t total = 0;
  for (const auto& w : workers) total += w->cells().clients.get();
  return static_cast<size_t>(std::max<int64_t>(0, total));
}

void Server::Impl::accept() {
  Worker& worker = *workers[nextWorker];
  nextWorker = (nextWorker + 1) % workers.size();
  // The socket is created on the worker's io_context: all its I/O runs on that thread.
  acceptor->async_accept(worker.ioc(), [this, &worker](const boost::system::error_code& ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) onAccepted(worker, std::move(s));
    else logx::warn("accept failed error=" + ec.message());
    accept();
  });
}

void Server::Impl::onAccepted(Worker& worker, tcp::socket socket) {
  if (connectedClients() >= config->limits.maxClients) {
    // Only this (accepting) thread writes this cell of the worker's: still one writer.
    worker.cells().clientsClosed[metrics::kCloseMaxClients].add();
    std::string reply = "-" + std::string(errors::kMaxClients) + "\r\n";
    boost::system::error_code ignored;
    asio::write(socket, asio::buffer(reply), ignored);
    socket.close(ignored);
    return;
  }
  stats.totalConnections.fetch_add(1, std::memory_order_relaxed);
  auto session = std::make_shared<ClientSession>(worker, std::move(socket), nextClientId++);
  asio::post(worker.ioc(), [&worker, session] { worker.addSession(session); });
}

void Server::Impl::waitSignals() {
  signals.add(SIGINT);
  signals.add(SIGTERM);
  signals.add(SIGHUP);
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      if (reloader) reloader->reload("SIGHUP");
      return waitSignals();
    }
    logx::info(std::string("shutting down signal=") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
    boost::system::error_code ignored;
    acceptor->close(ignored);
    stopping = true;
    if (prober) prober->stop();  // no ejection decision after this
    coordinator->stop();  // the state file keeps an unfinished migration for the next start
    for (auto& w : workers) w->stop();  // each finishes its in-flight requests, bounded
    ioc.stop();
  });
}

Server::Server(std::shared_ptr<const config::ProxyConfig> config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}

Server::~Server() = default;

int Server::run() {
  std::signal(SIGPIPE, SIG_IGN);
  const config::ProxyConfig& cfg = *impl_->config;
  impl_->coordinator = std::make_unique<MigrationCoordinator>(impl_->ioc, impl_->migrationStats);
  const RoutingSnapshot snap = impl_->coordinator->initial(impl_->config);
  const auto ring = snap.ring;
  impl_->waitSignals();
  impl_->startWorkers(snap);
  impl_->startListener();
  impl_->coordinator->start(
      [this](RoutingSnapshot s, std::function<void()> applied) { impl_->publish(std::move(s), std::move(applied)); },
      [this] {
        if (impl_->acceptor) impl_->accept();
      });
  impl_->startProber();
  impl_->startMetrics();
  impl_->startHealth();
  impl_->startReloader();
  logx::info("ringproxy started version=0.1.0 config=" + cfg.sourcePath + " config_digest=" + cfg.digest +
             " listen=" + cfg.listen.str() + " workers=" +
             std::to_string(impl_->workers.size()) + " shards=" + std::to_string(cfg.shards.size()) +
             " distribution=" + (cfg.ring.distribution == routing::Distribution::Ketama ? "ketama" : "vnodes") +
             " hash=" + std::string(routing::hashKindName(cfg.ring.hash)) + " ring_digest=" +
             std::to_string(ring->digest()) +
             (cfg.metrics.enabled ? " metrics=" + cfg.metrics.listen.str() : std::string()));
  impl_->ioc.run();
  impl_->shutdown();
  logx::info("ringproxy stopped");
  return 0;
}

}  // namespace proxy
