// HealthServer on civetweb's C++ API; see health_server.h.
// Called by: proxy::Server (start-up), and the health server test.
#include "proxy/server/health_server.h"

#include <CivetServer.h>

#include <cstdio>
#include <stdexcept>
#include <utility>
#include <vector>

namespace proxy {

// One probe path: 200 with `okBody` when `check()` holds, 503 with `failBody` otherwise.
class HealthServer::Handler : public CivetHandler {
 public:
  Handler(std::function<bool()> check, std::string okBody, std::string failBody)
      : check_(std::move(check)), okBody_(std::move(okBody)), failBody_(std::move(failBody)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override { return respond(conn, true); }
  bool handleHead(CivetServer*, mg_connection* conn) override { return respond(conn, false); }

 private:
  bool passes() const {
    // An exception must not unwind into civetweb's C worker thread; a check that
    // cannot answer means "not ready".
    try {
      return check_();
    } catch (...) {
      return false;
    }
  }

  bool respond(mg_connection* conn, bool withBody) const {
    const bool ok = passes();
    const std::string& body = ok ? okBody_ : failBody_;
    // no-store: a cached 200 from a proxy in between would hide an outage.
    mg_printf(conn,
              "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
              ok ? "200 OK" : "503 Service Unavailable", body.size());
    if (withBody) mg_write(conn, body.data(), body.size());
    return true;  // handled; civetweb must not look for a file to serve
  }

  std::function<bool()> check_;
  std::string okBody_;
  std::string failBody_;
};

HealthServer::HealthServer(const std::string& listen, std::function<bool()> ready)
    : healthz_(std::make_unique<Handler>([] { return true; }, "ok\n", "")),
      readyz_(std::make_unique<Handler>(std::move(ready), "ready\n",
                                        "not ready: no shard connection is up\n")) {
  // Two threads: probes are tiny, and one stuck client must not block the kubelet.
  const std::vector<std::string> options{"listening_ports",    listen, "num_threads",       "2",
                                         "request_timeout_ms", "5000", "enable_keep_alive", "no"};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const std::exception& e) {
    throw std::runtime_error("health server: cannot listen on " + listen + ": " + e.what());
  }
  server_->addHandler("/healthz", healthz_.get());
  server_->addHandler("/readyz", readyz_.get());
  const std::vector<int> ports = server_->getListeningPorts();
  if (!ports.empty()) port_ = static_cast<uint16_t>(ports.front());
}

HealthServer::~HealthServer() = default;

}  // namespace proxy
