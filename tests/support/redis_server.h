// RedisServer: one throw-away redis-server on 127.0.0.1 for a test (a proxy shard).
// Owns: its Process, its port (kept across restart()), its data dir under the TempDir.
// Started with: --port P --bind 127.0.0.1 --save "" --appendonly no --dir D --daemonize no
// Called by: ShardedCluster, the ketama comparison and the failure tests (kill/stop/restart),
// and the live unit tests that diff ringproxy's tables and replies against Redis.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/process.h"
#include "tests/support/redis_client.h"
#include "tests/support/temp_dir.h"

namespace testsupport {

// The redis-server executable every RedisServer runs (/usr/bin/redis-server).
std::string redisServerBinary();

class RedisServer {
 public:
  // Starts on a free port and waits (bounded) until PING answers. Throws with the log
  // tail if it never becomes ready. `name` labels the log file and data dir.
  RedisServer(const TempDir& dir, std::string name);
  ~RedisServer() = default;
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  const std::string& name() const { return name_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  Process& process() { return *process_; }

  // A fresh direct connection (bypassing any proxy).
  Client client(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;
  // Signal by PID: SIGKILL, SIGSTOP, SIGCONT...
  void kill(int sig) { process_->kill(sig); }
  // Graceful stop (SIGTERM, bounded, then SIGKILL).
  void stop() { process_->stop(); }
  // Starts again on the same port (the old process is stopped/reaped first); data is
  // not kept (no persistence). Waits until PING answers.
  void restart();

 private:
  bool launch();  // one attempt on port_; true when PING answered

  const TempDir& dir_;
  std::string name_;
  std::string dataDir_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace testsupport
