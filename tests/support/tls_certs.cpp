// TlsCerts: openssl req/x509 invocations (see tls_certs.h).
#include "tests/support/tls_certs.h"

#include <sys/wait.h>

#include <cstdlib>
#include <stdexcept>

namespace testsupport {

namespace {
void run(const TempDir& dir, const std::string& args) {
  const std::string log = dir.file("openssl.log");
  const std::string command = "cd '" + dir.path() + "' && openssl " + args + " >>'" + log + "' 2>&1";
  const int status = std::system(command.c_str());
  if (status != 0) throw std::runtime_error("openssl " + args + " failed; see " + log);
}

void signedBy(const TempDir& dir, const std::string& name, const std::string& subject, const std::string& ext) {
  run(dir, "req -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name + ".csr -subj '" + subject + "'");
  dir.writeFile(name + ".ext", ext);
  run(dir, "x509 -req -in " + name + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -sha256 -out " +
               name + ".crt -extfile " + name + ".ext");
}
}  // namespace

TlsCerts TlsCerts::make(const TempDir& dir) {
  run(dir, "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj '/CN=ringproxy test CA'");
  signedBy(dir, "server", "/CN=localhost",
           "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
  signedBy(dir, "client", "/CN=ringproxy test client", "extendedKeyUsage=clientAuth\n");
  run(dir, "req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.crt -days 2 -subj '/CN=localhost' "
           "-addext subjectAltName=IP:127.0.0.1");
  TlsCerts c;
  c.caCert = dir.file("ca.crt");
  c.serverCert = dir.file("server.crt");
  c.serverKey = dir.file("server.key");
  c.clientCert = dir.file("client.crt");
  c.clientKey = dir.file("client.key");
  c.rogueCert = dir.file("rogue.crt");
  c.rogueKey = dir.file("rogue.key");
  return c;
}

}  // namespace testsupport
