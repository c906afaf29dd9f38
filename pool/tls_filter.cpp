// TlsContext and TlsFilter: OpenSSL over memory BIOs (see tls_filter.h).
#include "pool/tls_filter.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace pool {

namespace {
constexpr size_t kReadChunk = 16 * 1024;

std::string opensslError(std::string_view what) {
  std::string text(what);
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    text += ": ";
    text += buf;
  }
  return text;
}

bool isIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

SSL_CTX* newContext(bool server, const TlsFiles& files, std::string* error) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return *error = opensslError("SSL_CTX_new"), nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  const auto bad = [&](std::string what) {
    *error = opensslError(what);
    SSL_CTX_free(ctx);
    return nullptr;
  };
  if (!files.certFile.empty() &&
      SSL_CTX_use_certificate_chain_file(ctx, files.certFile.c_str()) != 1) {
    return bad("cannot use certificate " + files.certFile);
  }
  if (!files.keyFile.empty() && SSL_CTX_use_PrivateKey_file(ctx, files.keyFile.c_str(), SSL_FILETYPE_PEM) != 1) {
    return bad("cannot use private key " + files.keyFile);
  }
  if (!files.certFile.empty() && !files.keyFile.empty() && SSL_CTX_check_private_key(ctx) != 1) {
    return bad("the private key does not match the certificate " + files.certFile);
  }
  if (!files.caFile.empty() && SSL_CTX_load_verify_locations(ctx, files.caFile.c_str(), nullptr) != 1) {
    return bad("cannot load CA file " + files.caFile);
  }
  if (files.caFile.empty() && !server && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return bad("cannot load the system CA store");
  }
  return ctx;
}
}  // namespace

std::shared_ptr<const TlsContext> TlsContext::server(const TlsFiles& files, std::string* error) {
  if (files.certFile.empty() || files.keyFile.empty()) {
    *error = "a TLS listener needs cert_file and key_file";
    return nullptr;
  }
  SSL_CTX* ctx = newContext(true, files, error);
  if (ctx == nullptr) return nullptr;
  const bool verify = !files.caFile.empty();  // then clients must present a certificate
  SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE, nullptr);
  return std::shared_ptr<const TlsContext>(new TlsContext(ctx, true, verify));
}

std::shared_ptr<const TlsContext> TlsContext::client(const TlsFiles& files, std::string* error) {
  SSL_CTX* ctx = newContext(false, files, error);
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_verify(ctx, files.verifyPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return std::shared_ptr<const TlsContext>(new TlsContext(ctx, false, files.verifyPeer));
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsFilter::TlsFilter(std::shared_ptr<const TlsContext> context, std::string_view peerName)
    : context_(std::move(context)) {
  ssl_ = SSL_new(context_->native());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in_, -1);  // an empty input BIO means "want more", not EOF
  SSL_set_bio(ssl_, in_, out_);
  if (context_->isServer()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  const std::string host(peerName);
  if (!host.empty() && context_->verifiesPeer()) {
    if (isIpAddress(host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, host.c_str());
      SSL_set1_host(ssl_, host.c_str());
    }
  }
  pump();  // the ClientHello
}

TlsFilter::~TlsFilter() { SSL_free(ssl_); }

bool TlsFilter::handshakeDone() const { return SSL_is_init_finished(ssl_) == 1; }

bool TlsFilter::fail(int ret, std::string_view where) {
  const int e = SSL_get_error(ssl_, ret);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
  if (e == SSL_ERROR_ZERO_RETURN) {
    closed_ = true;
    error_ = "peer closed the TLS session";
    return false;
  }
  error_ = opensslError(std::string(where));
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) error_ += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
  return false;
}

bool TlsFilter::pump() {
  if (!handshakeDone()) {
    const int r = SSL_do_handshake(ssl_);
    if (r != 1 && !fail(r, "TLS handshake")) return false;
  }
  if (handshakeDone() && !held_.empty()) {
    const int r = SSL_write(ssl_, held_.data(), static_cast<int>(held_.size()));
    if (r <= 0) return fail(r, "TLS write");
    held_.erase(0, static_cast<size_t>(r));
  }
  char buf[kReadChunk];
  int n = 0;
  while ((n = BIO_read(out_, buf, sizeof buf)) > 0) {
    if (cipherSent_ == cipher_.size()) cipher_.clear(), cipherSent_ = 0;
    cipher_.append(buf, static_cast<size_t>(n));
  }
  return true;
}

bool TlsFilter::feed(const char* data, size_t n) {
  if (n > 0 && BIO_write(in_, data, static_cast<int>(n)) != static_cast<int>(n)) {
    error_ = "TLS input buffer";
    return false;
  }
  return pump();
}

bool TlsFilter::readPlain(std::vector<char>& buf, size_t& len) {
  for (;;) {
    if (buf.size() - len < kReadChunk) buf.resize(std::max(buf.size() * 2, len + kReadChunk));
    const int r = SSL_read(ssl_, buf.data() + len, static_cast<int>(buf.size() - len));
    if (r > 0) {
      len += static_cast<size_t>(r);
      continue;
    }
    const bool ok = fail(r, "TLS read");
    return pump() && ok;  // a read may also produce output (handshake, key update)
  }
}

bool TlsFilter::writePlain(std::string_view plain) {
  if (handshakeDone() && held_.empty() && !plain.empty()) {
    const int r = SSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
    if (r <= 0 && !fail(r, "TLS write")) return false;
    if (r > 0) plain.remove_prefix(static_cast<size_t>(r));
  }
  held_.append(plain);
  return pump();
}

}  // namespace pool
