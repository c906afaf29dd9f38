// Server: the composition root of a running proxy. Builds the ring, starts the workers,
// the client listener (one acceptor handing sockets to workers round-robin), the
// Prometheus endpoint and the signal handling; runs until SIGINT/SIGTERM.
// Called by: main. Throws std::runtime_error for start-up failures (ports busy, bad ring).
#pragma once

#include <memory>

#include "config/proxy_config.h"

namespace proxy {

class Server {
 public:
  explicit Server(std::shared_ptr<const config::ProxyConfig> config);
  ~Server();
  // Blocks until a termination signal; returns the process exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace proxy
