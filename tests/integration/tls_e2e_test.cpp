// TLS end to end: redis-server shards that speak only TLS (Debian's redis-server is built
// with it), ringproxy with a TLS listener and TLS to the shards, certificates from a
// throw-away CA (TlsCerts), and redis-cli --tls as the real client (hiredis 0.14 has no
// TLS). Covers: data through both TLS legs; a shard whose certificate is not from the
// configured CA is refused; a listener that requires client certificates; a plaintext
// client on the TLS port; a reload naming an unusable certificate is rejected whole.
#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/net.h"
#include "tests/support/process.h"
#include "tests/support/proxy.h"
#include "tests/support/redis_server.h"
#include "tests/support/tls_certs.h"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

// redis-cli --tls ARGS...; returns its stdout+stderr, trailing newline removed.
std::string cli(uint16_t port, const std::string& tlsArgs, const std::string& args) {
  const std::string command = "redis-cli -p " + std::to_string(port) + " --tls " + tlsArgs + " " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  size_t n = 0;
  while (pipe && (n = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// A redis-server that listens only on a TLS port, with the given certificate.
std::unique_ptr<Process> tlsShard(const TempDir& dir, const std::string& name, uint16_t port,
                                  const std::string& cert, const std::string& key, const std::string& ca) {
  auto p = std::make_unique<Process>(
      std::vector<std::string>{redisServerBinary(), "--port", "0", "--tls-port", std::to_string(port), "--bind",
                               "127.0.0.1", "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca,
                               "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", dir.path()},
      dir.file(name + ".log"), true);
  REQUIRE(waitUntil([&] { return cli(port, "--insecure", "PING") == "PONG"; }, 10s));
  return p;
}

struct TlsSetup {
  TempDir dir;
  TlsCerts certs = TlsCerts::make(dir);
  uint16_t shardPorts[2] = {pickFreePort(), pickFreePort()};
  std::vector<std::unique_ptr<Process>> shards;
  uint16_t port = pickFreePort();
  uint16_t metricsPort = pickFreePort();
  std::string configPath = dir.file("proxy.yaml");
  std::unique_ptr<Process> proxy;

  void startShards(const std::string& cert, const std::string& key) {
    for (int i = 0; i < 2; ++i) {
      shards.push_back(tlsShard(dir, "s" + std::to_string(i + 1), shardPorts[i], cert, key, certs.caCert));
    }
  }
  std::string yaml(const std::string& listenerCa = "") const {
    std::string y = "listen: 127.0.0.1:" + std::to_string(port) + "\nmetrics:\n  listen: 127.0.0.1:" +
                    std::to_string(metricsPort) + "\ntls:\n  enabled: true\n  cert_file: " + certs.serverCert +
                    "\n  key_file: " + certs.serverKey + "\n";
    if (!listenerCa.empty()) y += "  ca_file: " + listenerCa + "\n";
    y += "backend:\n  timeout_ms: 2000\n  tls:\n    enabled: true\n    ca_file: " + certs.caCert +
         "\ncluster:\n  enabled: false\nshards:\n";
    for (int i = 0; i < 2; ++i) {
      y += "  - name: s" + std::to_string(i + 1) + "\n    address: 127.0.0.1:" + std::to_string(shardPorts[i]) + "\n";
    }
    return y;
  }
  void startProxy(const std::string& text) {
    dir.writeFile("proxy.yaml", text);
    proxy = std::make_unique<Process>(std::vector<std::string>{ringproxyBinary(), "--config", configPath},
                                      dir.file("proxy.log"), true);
  }
  std::string viaProxy(const std::string& args, const std::string& extraTls = "") const {
    return cli(port, "--cacert " + certs.caCert + " " + extraTls, args);
  }
};

}  // namespace

TEST_CASE("tls: clients and shards over TLS, certificates verified", "[tls]") {
  TlsSetup t;
  t.startShards(t.certs.serverCert, t.certs.serverKey);
  t.startProxy(t.yaml());
  REQUIRE(waitUntil([&] { return t.viaProxy("PING") == "PONG"; }, 10s));
  // Keys on both shards: an MSET fan-out and reads back, then directly on the shards.
  CHECK(t.viaProxy("MSET a 1 b 2 c 3 d 4 e 5 f 6") == "OK");
  CHECK(t.viaProxy("MGET a b c d e f") == "1\n2\n3\n4\n5\n6");
  const std::string ca = "--cacert " + t.certs.caCert;
  const std::string direct = cli(t.shardPorts[0], ca, "DBSIZE") + "+" + cli(t.shardPorts[1], ca, "DBSIZE");
  CHECK((direct != "6+0" && direct != "0+6"));  // spread over both TLS shards
  // A plaintext client on the TLS port is closed without a reply.
  RawSocket plain(t.port);
  plain.sendAll("PING\r\n");
  CHECK(plain.recvSome(3s).empty());
  CHECK(t.viaProxy("GET a") == "1");
}

TEST_CASE("tls: a shard whose certificate is not from the configured CA is refused", "[tls]") {
  TlsSetup t;
  t.startShards(t.certs.rogueCert, t.certs.rogueKey);
  t.startProxy(t.yaml());
  REQUIRE(waitUntil([&] { return t.viaProxy("PING") == "PONG"; }, 10s));
  const std::string reply = t.viaProxy("SET k v");
  CHECK(reply.find("ERR ringproxy: shard") != std::string::npos);
  CHECK(waitUntil([&] { return t.proxy->log().find("certificate") != std::string::npos; }, 10s));
}

TEST_CASE("tls: a listener with ca_file requires client certificates", "[tls]") {
  TlsSetup t;
  t.startShards(t.certs.serverCert, t.certs.serverKey);
  t.startProxy(t.yaml(t.certs.caCert));
  const std::string withCert = "--cert " + t.certs.clientCert + " --key " + t.certs.clientKey;
  REQUIRE(waitUntil([&] { return t.viaProxy("PING", withCert) == "PONG"; }, 10s));
  CHECK(t.viaProxy("PING") != "PONG");  // no client certificate: the handshake fails
}

TEST_CASE("tls: a reload naming an unusable certificate is rejected whole", "[tls]") {
  TlsSetup t;
  t.startShards(t.certs.serverCert, t.certs.serverKey);
  t.startProxy(t.yaml());
  REQUIRE(waitUntil([&] { return t.viaProxy("PING") == "PONG"; }, 10s));
  std::string bad = t.yaml();
  bad.replace(bad.find(t.certs.serverKey), t.certs.serverKey.size(), t.dir.file("missing.key"));
  t.dir.writeFile("proxy.yaml.tmp", bad);
  REQUIRE(std::rename(t.dir.file("proxy.yaml.tmp").c_str(), t.configPath.c_str()) == 0);
  CHECK(waitUntil([&] { return t.proxy->log().find("config error tls: cannot use private key") != std::string::npos; },
                  10s));
  CHECK(t.viaProxy("PING") == "PONG");  // the running config serves on
}
