// Proxy: one ringproxy process under test, configured from a small options struct.
// Owns: the generated YAML file, the listen and metrics ports, the Process (RP_BINARY
// --config <file>), whose stderr log is kept for diagnostics (dumped on assertion failure).
// Called by: ShardedCluster and the ketama comparison test.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/redis_client.h"
#include "tests/support/temp_dir.h"

namespace testsupport {

struct ProxyShard {
  std::string name;     // ring identity (s1, s2, ...)
  std::string address;  // 127.0.0.1:port
  uint32_t weight = 1;
  std::string password = {};  // the shard's requirepass, sent by the proxy as AUTH (empty: none)
};

struct ProxyOptions {
  std::vector<ProxyShard> shards;
  uint32_t threads = 2;
  std::string distribution = "vnodes";  // or "ketama"
  std::string hash = "fnv1a_64";
  std::string hashTag = "{}";
  uint32_t connections = 1;
  uint32_t connectTimeoutMs = 500;
  uint32_t timeoutMs = 1000;
  bool metrics = true;    // false: `metrics: {enabled: false}` (no HTTP listener to stop)
  std::string extraYaml;  // appended verbatim at top level (already indented)
  std::string backendYaml;  // appended verbatim inside `backend:` (indented by two spaces)
};

// Path of the ringproxy executable under test (RP_BINARY).
std::string ringproxyBinary();
// The YAML text for `opts` with the given ports (exposed for the --check tests).
std::string renderProxyYaml(const ProxyOptions& opts, uint16_t port, uint16_t metricsPort);

class Proxy {
 public:
  // Writes <name>.yaml, starts RP_BINARY --config, waits (<= 10 s) for +PONG. Retries
  // with new ports if the process dies early (a lost port race); throws with the log
  // tail if it never becomes ready.
  Proxy(const TempDir& dir, ProxyOptions opts, std::string name = "ringproxy");
  // Stops the proxy (SIGTERM, bounded wait, SIGKILL). A non-zero exit (a crash or a
  // sanitizer report at shutdown) is printed to stderr with the log tail: a destructor
  // cannot fail the test, so tests that care assert stop() == 0 themselves.
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  uint16_t port() const { return port_; }
  uint16_t metricsPort() const { return metricsPort_; }
  const std::string& configPath() const { return configPath_; }
  const ProxyOptions& options() const { return opts_; }
  Process& process() { return *process_; }
  std::string log() const { return process_->log(); }
  std::string logTail(size_t maxLines = 40) const { return process_->logTail(maxLines); }

  Client client(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;
  // SIGTERM and wait (bounded); returns the exit code (0 expected).
  int stop() { return process_->stop(); }
  // Starts ringproxy again on the same config file as it is now (a test may have edited
  // it) and the same ports, after the old process is stopped or killed: the restart-safety
  // tests need the very file the migration state sits beside. Waits (<= 10 s) for +PONG;
  // throws with the log tail otherwise. The log file is appended to, not replaced.
  void restart();

 private:
  bool launch();  // one attempt; true when PING answered +PONG
  bool spawn();   // starts the process on configPath_; true when PING answered +PONG

  const TempDir& dir_;
  ProxyOptions opts_;
  std::string name_;
  std::string configPath_;
  uint16_t port_ = 0;
  uint16_t metricsPort_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace testsupport
