// HealthServer: the HTTP liveness and readiness endpoints an orchestrator probes
// (Kubernetes httpGet probes, load balancer health checks, docker HEALTHCHECK).
//   GET /healthz  200 "ok" whenever the process can answer at all (liveness).
//   GET /readyz   200 "ready" when `ready()` says traffic can be served, else 503.
// Owns: one civetweb server (its own listening socket and 2 threads), separate from the
// metrics Exposer so a slow scrape never delays a probe and the two can bind differently.
// Called by: proxy::Server, which owns one for the life of the process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

class CivetServer;  // civetweb stays out of this header

namespace proxy {

class HealthServer {
 public:
  // `listen` is "host:port" with a numeric host ("127.0.0.1:9122", "[::1]:9122",
  // "0.0.0.0:9122"); port 0 picks a free port (see port()). `ready` is called on a
  // civetweb thread for every /readyz request, so it must be thread-safe and cheap
  // (e.g. read an atomic count of backend connections up).
  // Throws std::runtime_error when the address cannot be bound.
  HealthServer(const std::string& listen, std::function<bool()> ready);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  // The bound port (the real one when `listen` asked for port 0).
  uint16_t port() const { return port_; }

 private:
  class Handler;

  std::unique_ptr<Handler> healthz_;
  std::unique_ptr<Handler> readyz_;
  std::unique_ptr<CivetServer> server_;  // declared last: stopped before the handlers go
  uint16_t port_ = 0;
};

}  // namespace proxy
