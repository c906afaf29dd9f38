// TlsCerts: a throw-away certificate authority for TLS tests, made with the `openssl`
// command line in a TempDir: a CA, a server certificate for 127.0.0.1/localhost signed by
// it, a client certificate signed by it, and an unrelated self-signed certificate (to
// check that verification refuses it). Nothing is shared between tests.
// Called by: tests/unit/tls_filter_test.cpp and the TLS e2e tests.
#pragma once

#include <string>

#include "tests/support/temp_dir.h"

namespace testsupport {

struct TlsCerts {
  std::string caCert;
  std::string serverCert, serverKey;  // CN=localhost, SAN IP:127.0.0.1, DNS:localhost
  std::string clientCert, clientKey;
  std::string rogueCert, rogueKey;    // self-signed: no chain to caCert

  // Runs openssl; throws std::runtime_error with its output when a step fails.
  static TlsCerts make(const TempDir& dir);
};

}  // namespace testsupport
