// End-to-end limits and backend faults: max_clients, the output cap for a client that never
// reads, the idle timeout, and a fake backend that sends garbage or hangs up mid-reply.
// Owns: a tiny scripted fake backend (one thread, loopback). Each TEST_CASE starts its own
// processes on free ports.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/proxy.h"
#include "tests/support/redis_client.h"
#include "tests/support/temp_dir.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

// A backend that answers the n-th request on each connection with garbage (connection 1)
// or half a bulk string and then a hang-up (connection 2); later connections answer +OK.
class FakeBackend {
 public:
  FakeBackend() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeBackend() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  void serve() {
    for (int conn = 1; !stop_; ++conn) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      while (!stop_ && ::read(c, buf, sizeof buf) > 0) {
        const std::string reply = conn == 1 ? "!garbage\r\n" : conn == 2 ? "$10\r\nabc" : "+OK\r\n";
        if (::write(c, reply.data(), reply.size()) < 0 || conn <= 2) break;
      }
      ::close(c);
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

uint64_t closedCount(Proxy& p, const std::string& reason) {
  const HttpResponse r = httpGet(p.metricsPort(), "/metrics");
  const std::string needle = "ringproxy_clients_closed_total{reason=\"" + reason + "\"} ";
  const size_t at = r.body.find(needle);
  return at == std::string::npos ? 0 : std::stoull(r.body.substr(at + needle.size()));
}

// ringproxy_client_connections (-1 when the scrape fails).
long long openClients(Proxy& p) {
  const HttpResponse r = httpGet(p.metricsPort(), "/metrics");
  const std::string needle = "\nringproxy_client_connections ";
  const size_t at = r.body.find(needle);
  return at == std::string::npos ? -1 : std::stoll(r.body.substr(at + needle.size()));
}

}  // namespace

TEST_CASE("limits: max_clients refuses the next connection with Redis's text", "[limits]") {
  ProxyOptions opts;
  opts.extraYaml = "limits:\n  max_clients: 2\n";
  ShardedCluster cluster(opts, 1);
  // The harness's readiness PING connection is released asynchronously: wait until the
  // proxy no longer counts it, or it takes one of the two places.
  REQUIRE(waitUntil([&] { return openClients(cluster.proxy()) == 0; }, 5s));
  Client a = cluster.client();
  Client b = cluster.client();
  REQUIRE(a.cmd({"PING"}) == status("PONG"));
  REQUIRE(b.cmd({"PING"}) == status("PONG"));
  RawSocket third(cluster.proxy().port());
  const std::string got = third.recvUntil([](const std::string& s) { return s.find("\r\n") != std::string::npos; });
  CHECK(got == "-ERR max number of clients reached\r\n");
  CHECK(a.cmd({"PING"}) == status("PONG"));  // the others are unaffected
  CHECK(closedCount(cluster.proxy(), "max_clients") == 1);
}

TEST_CASE("limits: a client that never reads its replies is closed at the output cap", "[limits]") {
  ProxyOptions opts;
  opts.extraYaml = "limits:\n  client_max_output_bytes: 1MiB\n";
  ShardedCluster cluster(opts, 1);
  Client setup = cluster.client();
  REQUIRE(setup.cmd({"SET", "big", std::string(200 * 1024, 'v')}) == status("OK"));
  RawSocket greedy(cluster.proxy().port());
  const std::string get = respCommand({"GET", "big"});
  std::string pipeline;
  for (int i = 0; i < 100; ++i) pipeline += get;  // 20 MB of replies it never reads
  greedy.sendAll(pipeline);
  CHECK(waitUntil([&] { return closedCount(cluster.proxy(), "output_limit") == 1; }, 10s));
  CHECK(setup.cmd({"PING"}) == status("PONG"));
}

TEST_CASE("limits: idle clients are closed after limits.idle_timeout_s", "[limits]") {
  ProxyOptions opts;
  opts.extraYaml = "limits:\n  idle_timeout_s: 1\n";
  ShardedCluster cluster(opts, 1);
  RawSocket idle(cluster.proxy().port());
  REQUIRE(idle.sendAll("PING\r\n"));
  REQUIRE(idle.recvSome() == "+PONG\r\n");
  CHECK(waitUntil([&] { return closedCount(cluster.proxy(), "idle_timeout") == 1; }, 10s));
  CHECK(idle.recvSome(2s).empty());  // closed: EOF
}

TEST_CASE("faults: a backend sending garbage or hanging up mid-reply fails only those requests", "[faults]") {
  FakeBackend fake;
  TempDir dir;
  ProxyOptions opts;
  opts.threads = 1;
  opts.shards.push_back({"s1", "127.0.0.1:" + std::to_string(fake.port())});
  // The fake answers connections in the order of its script: no membership connection.
  opts.extraYaml = "cluster:\n  enabled: false\n";
  Proxy proxy(dir, opts);
  Client c(proxy.port());
  const Reply garbage = c.cmd({"SET", "k", "v"});
  REQUIRE(garbage.type == ReplyType::Error);
  CHECK(garbage.str.find("invalid reply") != std::string::npos);
  // The connection is replaced (after a short backoff); the next one hangs up mid-reply.
  Reply cut;
  REQUIRE(waitUntil([&] { cut = c.cmd({"SET", "k", "v"}); return cut.str.find("unavailable") == std::string::npos; }, 5s));
  CHECK(cut.type == ReplyType::Error);
  CHECK(cut.str.find("was lost") != std::string::npos);
  Reply ok;
  CHECK(waitUntil([&] { ok = c.cmd({"SET", "k", "v"}); return ok == status("OK"); }, 5s));
  CHECK(c.cmd({"PING"}) == status("PONG"));  // the proxy lives on
}
