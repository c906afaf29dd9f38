// Tests of proxy::HealthServer over real loopback HTTP: /healthz is always 200, /readyz
// follows the readiness callback (200/503), a callback that throws means 503, and a port
// already taken is a std::runtime_error at construction.
// Not matched by any tests/CMakeLists.txt glob yet: built as health_server_tests once
// rp_core links civetweb::civetweb-cpp (see the report that came with this file).
#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "proxy/server/health_server.h"
#include "tests/support/net.h"

using testsupport::httpGet;

TEST_CASE("health: /healthz is 200 ok and /readyz follows the callback", "[health]") {
  std::atomic<bool> ready{false};
  proxy::HealthServer server("127.0.0.1:0", [&] { return ready.load(); });
  REQUIRE(server.port() != 0);

  auto live = httpGet(server.port(), "/healthz");
  CHECK(live.status == 200);
  CHECK(live.body == "ok\n");

  auto notReady = httpGet(server.port(), "/readyz");
  CHECK(notReady.status == 503);
  CHECK(notReady.body.find("not ready") != std::string::npos);

  ready = true;
  auto isReady = httpGet(server.port(), "/readyz");
  CHECK(isReady.status == 200);
  CHECK(isReady.body == "ready\n");
  CHECK(isReady.headers.find("no-store") != std::string::npos);

  CHECK(httpGet(server.port(), "/metrics").status == 404);
}

TEST_CASE("health: a throwing readiness callback reads as not ready", "[health]") {
  proxy::HealthServer server("127.0.0.1:0", []() -> bool { throw std::runtime_error("x"); });
  CHECK(httpGet(server.port(), "/readyz").status == 503);
  CHECK(httpGet(server.port(), "/healthz").status == 200);
}

TEST_CASE("health: a port already in use throws std::runtime_error", "[health]") {
  proxy::HealthServer first("127.0.0.1:0", [] { return true; });
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  CHECK_THROWS_AS(proxy::HealthServer(taken, [] { return true; }), std::runtime_error);
  CHECK_THROWS_WITH(proxy::HealthServer(taken, [] { return true; }),
                    Catch::Contains("cannot listen on " + taken));
}

TEST_CASE("health: the server stops with its owner", "[health]") {
  uint16_t port = 0;
  {
    proxy::HealthServer server("127.0.0.1:0", [] { return true; });
    port = server.port();
    REQUIRE(httpGet(port, "/healthz").status == 200);
  }
  CHECK(httpGet(port, "/healthz").status == 0);  // nothing listens any more
}
