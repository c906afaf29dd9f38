// buildTlsContexts: config::TlsConfig -> pool::TlsContext (see tls_contexts.h).
#include "proxy/server/tls_contexts.h"

namespace proxy {

std::optional<TlsContexts> buildTlsContexts(const config::ProxyConfig& cfg, std::string* error) {
  TlsContexts out;
  std::string why;
  if (cfg.tls.enabled) {
    out.listener = pool::TlsContext::server({cfg.tls.certFile, cfg.tls.keyFile, cfg.tls.caFile, true}, &why);
    if (!out.listener) return *error = "tls: " + why, std::nullopt;
  }
  const config::TlsConfig& b = cfg.backend.tls;
  if (b.enabled) {
    out.backend = pool::TlsContext::client({b.certFile, b.keyFile, b.caFile, b.verify}, &why);
    if (!out.backend) return *error = "backend.tls: " + why, std::nullopt;
  }
  return out;
}

bool sameTls(const config::TlsConfig& a, const config::TlsConfig& b) {
  return a.enabled == b.enabled && a.certFile == b.certFile && a.keyFile == b.keyFile && a.caFile == b.caFile &&
         a.verify == b.verify && a.serverName == b.serverName;
}

}  // namespace proxy
