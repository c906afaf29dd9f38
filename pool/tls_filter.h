// TLS for connections that do their own non-blocking socket I/O (client sessions and
// backend connections): OpenSSL runs over two memory BIOs, so the caller keeps its
// readiness-based read/write loop and only passes ciphertext in and out. No Asio here.
//   TlsContext: one SSL_CTX (certificates, CA, verification mode), immutable once built,
//               shared by every connection of a worker. Built at start-up and on reload.
//   TlsFilter:  one connection's SSL object. feed() ciphertext read from the socket,
//               readPlain() the decrypted bytes, writePlain() what to send (held until the
//               handshake is done), then send cipher() on the socket.
// Called by: proxy::ClientSession (server side), pool::BackendConnection (client side),
// proxy::Worker/Server (contexts), tests/unit/tls_filter_test.cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace pool {

struct TlsFiles {
  std::string certFile;  // PEM; server: required; client: for shards that check clients
  std::string keyFile;
  std::string caFile;    // server: clients must present a cert signed by it (if set);
                         // client: the shards' certificates are verified against it
                         // (the system store when empty)
  bool verifyPeer = true;  // client side only: false accepts any shard certificate
};

class TlsContext {
 public:
  // nullptr + *error (OpenSSL's reason, with the file) when a file cannot be used.
  static std::shared_ptr<const TlsContext> server(const TlsFiles& files, std::string* error);
  static std::shared_ptr<const TlsContext> client(const TlsFiles& files, std::string* error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* native() const { return ctx_; }
  bool isServer() const { return server_; }
  bool verifiesPeer() const { return verify_; }

 private:
  TlsContext(ssl_ctx_st* ctx, bool server, bool verify) : ctx_(ctx), server_(server), verify_(verify) {}
  ssl_ctx_st* ctx_;
  bool server_;
  bool verify_;
};

class TlsFilter {
 public:
  // `peerName` (client side): the host name or IP the shard's certificate must match,
  // also sent as SNI when it is a name.
  TlsFilter(std::shared_ptr<const TlsContext> context, std::string_view peerName = {});
  ~TlsFilter();
  TlsFilter(const TlsFilter&) = delete;
  TlsFilter& operator=(const TlsFilter&) = delete;

  // Ciphertext from the socket. False = the connection must close (error()).
  bool feed(const char* data, size_t n);
  // Appends the plaintext decrypted so far to buf[len..] (growing buf), advancing len.
  // False = fatal error or the peer closed the TLS session (closed() tells which).
  bool readPlain(std::vector<char>& buf, size_t& len);
  // Plaintext to send; held until the handshake completes.
  bool writePlain(std::string_view plain);
  // Ciphertext waiting for the socket, and how much of it was sent already.
  std::string& cipher() { return cipher_; }
  size_t& cipherSent() { return cipherSent_; }
  size_t cipherPending() const { return cipher_.size() - cipherSent_; }
  bool handshakeDone() const;
  bool closed() const { return closed_; }
  const std::string& error() const { return error_; }

 private:
  bool pump();  // handshake progress, held plaintext, and wbio -> cipher_
  bool fail(int ret, std::string_view where);

  std::shared_ptr<const TlsContext> context_;
  ssl_st* ssl_ = nullptr;
  bio_st* in_ = nullptr;   // owned by ssl_
  bio_st* out_ = nullptr;  // owned by ssl_
  std::string held_;       // plaintext written before the handshake completed
  std::string cipher_;
  size_t cipherSent_ = 0;
  std::string error_;
  bool closed_ = false;
};

}  // namespace pool
