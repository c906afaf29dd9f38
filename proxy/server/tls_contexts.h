// The process's TLS contexts, built from the config: one for the client listener (`tls`)
// and one for shard connections (`backend.tls`). Built at start-up (a failure stops the
// start), by the reloader to validate a new file (a failure rejects it whole, naming the
// field), and by each worker when the TLS settings changed.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/proxy_config.h"
#include "pool/tls_filter.h"

namespace proxy {

struct TlsContexts {
  std::shared_ptr<const pool::TlsContext> listener;  // null: clients speak plain RESP
  std::shared_ptr<const pool::TlsContext> backend;   // null: shards are reached in plain
};

// nullopt + *error ("tls: cannot use certificate /x.crt: ...") when a file is unusable.
std::optional<TlsContexts> buildTlsContexts(const config::ProxyConfig& cfg, std::string* error);
bool sameTls(const config::TlsConfig& a, const config::TlsConfig& b);

}  // namespace proxy
