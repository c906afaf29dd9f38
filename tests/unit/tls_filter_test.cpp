// TlsFilter and TlsContext: two filters (a server and a client) pumped into each other in
// memory, with certificates from a throw-away CA (TlsCerts, made with openssl): the
// handshake, data both ways in pieces, and every verification failure that must refuse.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pool/tls_filter.h"
#include "tests/support/tls_certs.h"

using pool::TlsContext;
using pool::TlsFilter;
using pool::TlsFiles;

namespace {

struct Pair {
  TlsFilter server;
  TlsFilter client;
  std::vector<char> serverIn, clientIn;
  size_t serverLen = 0, clientLen = 0;
  bool ok = true;

  // Moves ciphertext between the two until neither has anything to send; false once
  // either side fails.
  bool pump() {
    for (int round = 0; round < 100 && ok; ++round) {
      const bool s = move(server, client, clientIn, clientLen);
      const bool c = move(client, server, serverIn, serverLen);
      if (!s && !c) break;
    }
    return ok;
  }
  bool move(TlsFilter& from, TlsFilter& to, std::vector<char>& buf, size_t& len) {
    if (from.cipherPending() == 0) return false;
    const std::string bytes = from.cipher().substr(from.cipherSent());
    from.cipherSent() = from.cipher().size();
    ok = ok && to.feed(bytes.data(), bytes.size()) && to.readPlain(buf, len);
    return true;
  }
};

std::shared_ptr<const TlsContext> serverCtx(const TlsFiles& f) {
  std::string error;
  auto ctx = TlsContext::server(f, &error);
  INFO(error);
  REQUIRE(ctx);
  return ctx;
}

std::shared_ptr<const TlsContext> clientCtx(const TlsFiles& f) {
  std::string error;
  auto ctx = TlsContext::client(f, &error);
  INFO(error);
  REQUIRE(ctx);
  return ctx;
}

}  // namespace

TEST_CASE("tls: handshake, then data both ways in pieces", "[tls]") {
  testsupport::TempDir dir;
  const auto certs = testsupport::TlsCerts::make(dir);
  Pair p{TlsFilter(serverCtx({certs.serverCert, certs.serverKey, "", true})),
         TlsFilter(clientCtx({"", "", certs.caCert, true}), "127.0.0.1")};
  REQUIRE(p.pump());
  CHECK(p.server.handshakeDone());
  CHECK(p.client.handshakeDone());

  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  REQUIRE(p.client.writePlain("*1\r\n$4\r\nPING\r\n"));
  REQUIRE(p.server.writePlain(big));
  REQUIRE(p.pump());
  CHECK(std::string(p.serverIn.data(), p.serverLen) == "*1\r\n$4\r\nPING\r\n");
  CHECK(std::string(p.clientIn.data(), p.clientLen) == big);
}

TEST_CASE("tls: plaintext written before the handshake is held, not lost", "[tls]") {
  testsupport::TempDir dir;
  const auto certs = testsupport::TlsCerts::make(dir);
  Pair p{TlsFilter(serverCtx({certs.serverCert, certs.serverKey, "", true})),
         TlsFilter(clientCtx({"", "", certs.caCert, true}), "localhost")};
  REQUIRE(p.client.writePlain("AUTH secret\r\n"));
  REQUIRE(p.pump());
  CHECK(std::string(p.serverIn.data(), p.serverLen) == "AUTH secret\r\n");
}

TEST_CASE("tls: verification refuses a wrong certificate, name or missing client cert", "[tls]") {
  testsupport::TempDir dir;
  const auto certs = testsupport::TlsCerts::make(dir);
  SECTION("a server certificate from another CA") {
    Pair p{TlsFilter(serverCtx({certs.rogueCert, certs.rogueKey, "", true})),
           TlsFilter(clientCtx({"", "", certs.caCert, true}), "127.0.0.1")};
    CHECK_FALSE(p.pump());
    CHECK(p.client.error().find("certificate") != std::string::npos);
  }
  SECTION("a certificate for another name") {
    Pair p{TlsFilter(serverCtx({certs.serverCert, certs.serverKey, "", true})),
           TlsFilter(clientCtx({"", "", certs.caCert, true}), "example.com")};
    CHECK_FALSE(p.pump());
  }
  SECTION("verify off accepts it (documented as unsafe)") {
    Pair p{TlsFilter(serverCtx({certs.rogueCert, certs.rogueKey, "", true})),
           TlsFilter(clientCtx({"", "", certs.caCert, false}), "127.0.0.1")};
    CHECK(p.pump());
    CHECK(p.client.handshakeDone());
  }
  SECTION("a server that requires client certificates") {
    const auto strict = serverCtx({certs.serverCert, certs.serverKey, certs.caCert, true});
    Pair without{TlsFilter(strict), TlsFilter(clientCtx({"", "", certs.caCert, true}), "127.0.0.1")};
    CHECK_FALSE(without.pump());
    Pair with{TlsFilter(strict),
              TlsFilter(clientCtx({certs.clientCert, certs.clientKey, certs.caCert, true}), "127.0.0.1")};
    CHECK(with.pump());
    CHECK(with.server.handshakeDone());
  }
}

TEST_CASE("tls: unusable files are refused with the file named", "[tls]") {
  std::string error;
  CHECK_FALSE(TlsContext::server({"/nonexistent.crt", "/nonexistent.key", "", true}, &error));
  CHECK(error.find("/nonexistent.crt") != std::string::npos);
  CHECK_FALSE(TlsContext::server({"", "", "", true}, &error));
  CHECK(error.find("cert_file") != std::string::npos);
}
