// Proxy: YAML rendering, start-up with readiness poll; see proxy.h.
// Called by ShardedCluster and the integration tests.
#include "tests/support/proxy.h"

#include <iostream>
#include <sstream>
#include <stdexcept>

#include "tests/support/net.h"

#ifndef RP_BINARY
#error "RP_BINARY must be defined (path of the ringproxy executable)"
#endif

namespace testsupport {

namespace {
constexpr std::chrono::milliseconds kReadyTimeout{10000};
constexpr int kAttempts = 3;
}  // namespace

std::string ringproxyBinary() { return RP_BINARY; }

std::string renderProxyYaml(const ProxyOptions& opts, uint16_t port, uint16_t metricsPort) {
  std::ostringstream y;
  y << "listen: 127.0.0.1:" << port << "\n"
    << "threads: " << opts.threads << "\n"
    << "metrics:\n"
    << (opts.metrics ? "" : "  enabled: false\n")
    << "  listen: 127.0.0.1:" << metricsPort << "\n"
    << "ring:\n"
    << "  distribution: " << opts.distribution << "\n"
    << "  hash: " << opts.hash << "\n"
    << "  hash_tag: \"" << opts.hashTag << "\"\n"
    << "backend:\n"
    << "  connections: " << opts.connections << "\n"
    << "  connect_timeout_ms: " << opts.connectTimeoutMs << "\n"
    << "  timeout_ms: " << opts.timeoutMs << "\n"
    << opts.backendYaml
    << "shards:\n";
  for (const auto& s : opts.shards) {
    y << "  - name: " << s.name << "\n"
      << "    address: " << s.address << "\n"
      << "    weight: " << s.weight << "\n";
    if (!s.password.empty()) y << "    password: \"" << s.password << "\"\n";
  }
  y << opts.extraYaml;
  return y.str();
}

Proxy::Proxy(const TempDir& dir, ProxyOptions opts, std::string name)
    : dir_(dir), opts_(std::move(opts)), name_(std::move(name)) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (launch()) return;
    if (process_->running()) break;  // alive but never answered: retrying will not help
  }
  std::string tail = process_->logTail(60);
  throw std::runtime_error(name_ + " did not answer PING within 10 s (" +
                           process_->describe() + ", exit " +
                           (process_->running() ? std::string("still running")
                                                : std::to_string(*process_->exitCode())) +
                           "); config " + configPath_ + "; log tail:\n" + tail);
}

bool Proxy::launch() {
  if (process_) process_->stop();
  port_ = pickFreePort();
  metricsPort_ = pickFreePort();
  configPath_ = dir_.writeFile(name_ + ".yaml", renderProxyYaml(opts_, port_, metricsPort_));
  return spawn();
}

bool Proxy::spawn() {
  process_ = std::make_unique<Process>(
      std::vector<std::string>{ringproxyBinary(), "--config", configPath_},
      dir_.file(name_ + ".log"), /*dumpOnFailure=*/true);
  return waitUntil(
      [&] {
        if (!process_->running()) return true;  // died: stop polling
        auto c = Client::tryConnect(port_, std::chrono::milliseconds(500));
        if (!c) return false;
        // A proxy that requires AUTH answers NOAUTH: it is up all the same.
        const Reply r = c->cmd({"PING"});
        return r.isStatus("PONG") || (r.type == ReplyType::Error && r.str.rfind("NOAUTH", 0) == 0);
      },
      kReadyTimeout) &&
         process_->running();
}

void Proxy::restart() {
  process_->stop();  // reaps a killed process; stops a live one
  if (spawn()) return;
  throw std::runtime_error(name_ + " did not answer PING within 10 s after a restart (" +
                           process_->describe() + "); config " + configPath_ +
                           "; log tail:\n" + process_->logTail(60));
}

Proxy::~Proxy() {
  int code = process_->stop();
  if (code != 0) {
    std::cerr << "WARNING: " << process_->describe() << " exited with code " << code
              << " on stop; log tail (" << process_->logPath() << "):\n"
              << process_->logTail(30) << "\n";
  }
}

Client Proxy::client(std::chrono::milliseconds timeout) const { return Client(port_, timeout); }

}  // namespace testsupport
