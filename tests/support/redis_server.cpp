// RedisServer: start, readiness poll, restart on the same port; see redis_server.h.
// Called by the integration tests and ShardedCluster.
#include "tests/support/redis_server.h"

#include <stdexcept>

#include "tests/support/net.h"

namespace testsupport {

namespace {
constexpr const char* kRedisServer = "/usr/bin/redis-server";
constexpr std::chrono::milliseconds kReadyTimeout{10000};
constexpr int kPortAttempts = 5;
}  // namespace

std::string redisServerBinary() { return kRedisServer; }

RedisServer::RedisServer(const TempDir& dir, std::string name)
    : dir_(dir), name_(std::move(name)), dataDir_(dir.subdir("redis-" + name_)) {
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    port_ = pickFreePort();
    if (launch()) return;
    // Most likely lost a race for the port: try another one.
  }
  throw std::runtime_error("redis-server " + name_ + " did not start; log tail:\n" +
                           process_->logTail());
}

bool RedisServer::launch() {
  if (process_) process_->stop();
  process_ = std::make_unique<Process>(
      std::vector<std::string>{kRedisServer, "--port", std::to_string(port_), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                               dataDir_, "--daemonize", "no"},
      dir_.file("redis-" + name_ + ".log"));
  return waitUntil(
      [&] {
        if (!process_->running()) return true;  // gave up: stop polling
        auto c = Client::tryConnect(port_, std::chrono::milliseconds(500));
        return c && c->cmd({"PING"}).isStatus("PONG");
      },
      kReadyTimeout) &&
         process_->running();
}

void RedisServer::restart() {
  // The same port is required (the proxy's config names it). Redis binds with
  // SO_REUSEADDR, so TIME_WAIT leftovers do not block; a few retries cover slow release.
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    if (launch()) return;
  }
  throw std::runtime_error("redis-server " + name_ + " did not restart on port " +
                           std::to_string(port_) + "; log tail:\n" + process_->logTail());
}

Client RedisServer::client(std::chrono::milliseconds timeout) const {
  return Client(port_, timeout);
}

}  // namespace testsupport
