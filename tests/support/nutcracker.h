// Nutcracker: a twemproxy 0.5.0 (/usr/sbin/nutcracker) in front of given redis shards, the
// reference implementation our ketama ring must match key for key.
// Owns: its nutcracker.yml (distribution ketama, the given hash, hash_tag "{}", redis,
// preconnect, no auto-eject), its listen and stats ports, and the Process.
// Called by: the ketama comparison test and the harness self-test.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/redis_client.h"
#include "tests/support/temp_dir.h"

namespace testsupport {

struct NutcrackerServer {
  std::string name;  // "s1": the ketama identity (must equal ringproxy's shard name)
  uint16_t port = 0;
  uint32_t weight = 1;
};

class Nutcracker {
 public:
  // Starts nutcracker and waits (<= 10 s) until a GET through it answers without error.
  Nutcracker(const TempDir& dir, std::vector<NutcrackerServer> servers, std::string hash,
             std::string name = "nutcracker");
  ~Nutcracker() = default;
  Nutcracker(const Nutcracker&) = delete;
  Nutcracker& operator=(const Nutcracker&) = delete;

  uint16_t port() const { return port_; }
  uint16_t statsPort() const { return statsPort_; }
  const std::string& configPath() const { return configPath_; }
  Process& process() { return *process_; }
  Client client(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;

 private:
  bool launch();
  std::string renderYaml() const;

  const TempDir& dir_;
  std::vector<NutcrackerServer> servers_;
  std::string hash_;
  std::string name_;
  std::string configPath_;
  uint16_t port_ = 0;
  uint16_t statsPort_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace testsupport
