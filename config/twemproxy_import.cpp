// twemproxy (nutcracker 0.5.0) pool -> ringproxy YAML. Implements twemproxy_import.h.
// The server line grammar and the default shard names follow nutcracker's conf_add_server
// exactly, because a ketama ring is only identical when the names are byte for byte.
// Called by: main (--from-twemproxy) and tests/unit/config_twemproxy_test.cpp.
#include "config/twemproxy_import.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <sstream>

#include "config/config_loader.h"
#include "config/yaml_document.h"
#include "routing/hash_fn.h"

namespace config {
namespace {

// nutcracker leaves the port out of an unnamed server's ketama name on this port, for
// libmemcached compatibility (CONF_DEFAULT_KETAMA_PORT).
constexpr std::string_view kKetamaDefaultPort = "11211";
constexpr uint32_t kMaxWeight = 65535;         // ringproxy's shards[].weight ceiling
constexpr uint32_t kMaxTimeoutMs = 3'600'000;  // backend.timeout_ms ceiling
constexpr uint32_t kMaxConnectTimeoutMs = 600'000;
constexpr uint32_t kMaxConnections = 256;
constexpr uint32_t kMaxClients = 10'000'000;
// backend.auto_eject's ranges, and nutcracker's defaults for the two settings it maps.
constexpr uint64_t kMinFailureLimit = 1;
constexpr uint64_t kMaxFailureLimit = 100;
constexpr uint64_t kMinRetryMs = 100;
constexpr uint64_t kMaxRetryMs = 3'600'000;
constexpr uint64_t kNutcrackerFailureLimit = 2;   // CONF_DEFAULT_SERVER_FAILURE_LIMIT
constexpr uint64_t kNutcrackerRetryMs = 30'000;   // CONF_DEFAULT_SERVER_RETRY_TIMEOUT

struct Server {
  std::string name;     // the ketama identity, as nutcracker derives it
  std::string address;  // ringproxy host:port (IPv6 bracketed)
  uint32_t weight = 1;
};

struct Pool {
  std::string listen;
  std::string hash = "fnv1a_64";  // nutcracker's default
  std::string hashTag;            // nutcracker hashes the whole key unless told otherwise
  std::optional<uint32_t> timeoutMs;
  std::optional<uint32_t> connections;
  std::optional<uint32_t> maxClients;
  bool autoEject = false;                  // auto_eject_hosts: true -> backend.auto_eject
  std::optional<uint64_t> failureLimit;    // server_failure_limit, as written
  std::optional<uint64_t> retryMs;         // server_retry_timeout, as written
  std::vector<Server> servers;
};

// nutcracker's nc_atoi: decimal digits only, no sign, no spaces.
std::optional<uint64_t> parseDigits(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

std::optional<uint16_t> parsePort(std::string_view text) {
  std::optional<uint64_t> port = parseDigits(text);
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  return static_cast<uint16_t>(*port);
}

// ringproxy wants IPv6 hosts in brackets; nutcracker splits at the last ':' instead.
std::string endpointText(std::string_view host, uint16_t port) {
  // Appends rather than "[" + host: GCC 12 warns (-Wrestrict) falsely on the latter.
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out;
  if (v6) out += '[';
  out.append(host);
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

// A YAML double-quoted scalar: names and addresses come from someone else's file.
std::string quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Pool names only ever reach a comment line; keep them on that line.
std::string commentSafe(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return out;
}

class PoolReader {
 public:
  PoolReader(std::string poolName, ImportResult& result)
      : poolName_(std::move(poolName)), result_(result) {}

  // False when the pool cannot be converted (errors recorded).
  bool read(const YamlNode& node, Pool& pool);

 private:
  void readKey(const YamlNode& value, Pool& pool);
  void readListen(const std::string& key, const std::string& text, Pool& pool);
  void readHash(const std::string& key, const std::string& text, Pool& pool);
  void readHashTag(const YamlNode& value, Pool& pool);
  void readDistribution(const std::string& key, const std::string& text);
  void readNumber(const std::string& key, const std::string& text, Pool& pool);
  void readBool(const std::string& key, const std::string& text);
  void readServers(const YamlNode& value, Pool& pool);
  void readServer(const std::string& path, const std::string& line, Pool& pool);
  void mapAutoEject(Pool& pool);
  const std::string* scalarOf(const YamlNode& value);

  void warn(const std::string& key, const std::string& message) {
    result_.warnings.push_back("pool '" + poolName_ + "': " + key + ": " + message);
  }
  void fail(const std::string& key, const std::string& message) {
    result_.errors.push_back("pool '" + poolName_ + "': " + (key.empty() ? "" : key + ": ") +
                             message);
  }

  std::string poolName_;
  ImportResult& result_;
  bool seenAutoEject_ = false;
  bool seenRedis_ = false;
  bool seenTimeout_ = false;
};

bool PoolReader::read(const YamlNode& node, Pool& pool) {
  const size_t errorsBefore = result_.errors.size();
  if (!node.isMapping()) {
    fail("", "expected a mapping of settings");
    return false;
  }
  std::vector<std::string> seen;
  for (const YamlNode& child : node.children) {
    if (std::find(seen.begin(), seen.end(), child.key) != seen.end()) {
      fail(child.key, "is a duplicate (nutcracker refuses the file)");
      continue;
    }
    seen.push_back(child.key);
    readKey(child, pool);
  }
  if (pool.listen.empty() && std::find(seen.begin(), seen.end(), "listen") == seen.end()) {
    fail("listen", "missing (nutcracker requires it)");
  }
  if (!seenRedis_) {
    fail("redis",
         "missing: without redis: true the pool speaks memcached, which ringproxy "
         "does not");
  }
  if (pool.servers.empty() && std::find(seen.begin(), seen.end(), "servers") == seen.end()) {
    fail("servers", "missing: the pool has no servers");
  }
  if (!seenTimeout_) {
    warn("timeout",
         "not set: nutcracker waits forever for a shard's reply; ringproxy fails "
         "a request after backend.timeout_ms (its default, 2000 ms, is used)");
  }
  mapAutoEject(pool);
  return result_.errors.size() == errorsBefore;
}

// auto_eject_hosts: true becomes backend.auto_eject with nutcracker's failure limit and
// retry timeout (its defaults when unset), plus cluster.enabled: false: nutcracker
// instances eject on their own too, and ringproxy refuses auto_eject beside its
// membership records.
void PoolReader::mapAutoEject(Pool& pool) {
  if (!pool.autoEject) {
    if (seenAutoEject_) warn("auto_eject_hosts", "false is ringproxy's default too (backend.auto_eject off)");
    for (auto [key, value] : {std::pair{"server_failure_limit", pool.failureLimit},
                              std::pair{"server_retry_timeout", pool.retryMs}}) {
      if (value) warn(key, "only matters with auto_eject_hosts: true (dropped)");
    }
    return;
  }
  warn("auto_eject_hosts",
       "mapped to backend.auto_eject, with cluster.enabled: false (each instance ejects on its own, as "
       "nutcracker instances do). Ejecting re-hashes a live shard's keys: fine for a cache, data loss "
       "for a store. Unlike nutcracker, ringproxy PINGs each shard every probe_interval_ms (500) instead "
       "of counting failed requests, moves only the ejected shard's keys, and takes it back once it "
       "answers a PING after retry_ms");
  const auto clamp = [this](const char* key, std::optional<uint64_t>& value, uint64_t fallback, uint64_t lo,
                            uint64_t hi, const char* field) {
    if (!value) value = fallback;
    if (*value >= lo && *value <= hi) return;
    const uint64_t kept = std::clamp(*value, lo, hi);
    warn(key, std::to_string(*value) + " is outside backend.auto_eject." + field + "'s range (" +
                  std::to_string(lo) + ".." + std::to_string(hi) + "); " + std::to_string(kept) + " is used");
    value = kept;
  };
  clamp("server_failure_limit", pool.failureLimit, kNutcrackerFailureLimit, kMinFailureLimit, kMaxFailureLimit,
        "failure_limit");
  clamp("server_retry_timeout", pool.retryMs, kNutcrackerRetryMs, kMinRetryMs, kMaxRetryMs, "retry_ms");
}

const std::string* PoolReader::scalarOf(const YamlNode& value) {
  if (value.isScalar()) return &value.scalar;
  fail(value.key, "expected a single value");
  return nullptr;
}

void PoolReader::readKey(const YamlNode& value, Pool& pool) {
  const std::string& key = value.key;
  if (key == "servers") return readServers(value, pool);
  if (key == "hash_tag") return readHashTag(value, pool);
  const std::string* text = scalarOf(value);
  if (text == nullptr) return;
  if (key == "listen") return readListen(key, *text, pool);
  if (key == "hash") return readHash(key, *text, pool);
  if (key == "distribution") return readDistribution(key, *text);
  if (key == "timeout" || key == "backlog" || key == "client_connections" || key == "redis_db" ||
      key == "server_connections" || key == "server_retry_timeout" ||
      key == "server_failure_limit") {
    return readNumber(key, *text, pool);
  }
  if (key == "auto_eject_hosts" && (*text == "true" || *text == "false")) {
    seenAutoEject_ = true;
    pool.autoEject = *text == "true";
    return;  // reported with its two settings once the whole pool is read (mapAutoEject)
  }
  if (key == "redis" || key == "preconnect" || key == "auto_eject_hosts" || key == "tcpkeepalive") {
    return readBool(key, *text);
  }
  if (key == "redis_auth") {
    warn(key,
         "not supported: ringproxy neither sends AUTH to shards nor asks clients for a "
         "password, so the shards must accept connections without one (dropped)");
    return;
  }
  fail(key, "unknown directive (nutcracker refuses it too)");
}

void PoolReader::readListen(const std::string& key, const std::string& text, Pool& pool) {
  if (!text.empty() && text[0] == '/') {
    fail(key, "'" + text + "' is a unix socket; ringproxy listens on TCP host:port only");
    return;
  }
  const size_t colon = text.rfind(':');
  std::optional<uint16_t> port;
  if (colon != std::string::npos) port = parsePort(std::string_view(text).substr(colon + 1));
  if (colon == std::string::npos || colon == 0 || !port) {
    fail(key, "'" + text + "': expected host:port");
    return;
  }
  pool.listen = endpointText(std::string_view(text).substr(0, colon), *port);
}

void PoolReader::readHash(const std::string& key, const std::string& text, Pool& pool) {
  // twemproxy's hash names are ringproxy's, function for function.
  if (!routing::hashKindFromName(text)) {
    fail(key, "'" + text + "' is not a hash nutcracker knows (expected one of: " +
                  std::string(routing::hashKindNames()) + ")");
    return;
  }
  pool.hash = text;
}

void PoolReader::readHashTag(const YamlNode& value, Pool& pool) {
  if (value.isMapping() && value.children.empty()) {
    fail(value.key, "unquoted {} is an empty YAML mapping; write hash_tag: \"{}\"");
  } else if (!value.isScalar() || value.scalar.size() != 2) {
    fail(value.key, "expected a two character string such as \"{}\"");
  } else {
    pool.hashTag = value.scalar;
  }
}

void PoolReader::readDistribution(const std::string& key, const std::string& text) {
  if (text == "ketama") return;
  if (text == "modula" || text == "random") {
    fail(key, text +
                  " cannot be reproduced: ringproxy places keys with ketama (or its own "
                  "vnodes ring), so converting would move keys between shards. Migrate the "
                  "data, or keep nutcracker for this pool");
  } else {
    fail(key, "'" + text + "' is not a distribution nutcracker knows");
  }
}

void PoolReader::readNumber(const std::string& key, const std::string& text, Pool& pool) {
  const std::optional<uint64_t> parsed = parseDigits(text);
  if (!parsed || *parsed > 2'147'483'647) {
    fail(key, "'" + text + "' is not a number");
    return;
  }
  const uint64_t n = *parsed;
  if (key == "timeout") {
    seenTimeout_ = true;
    if (n == 0) {
      warn(key,
           "0 means no timeout in nutcracker; ringproxy always has one "
           "(backend.timeout_ms default, 2000 ms, is used)");
      return;
    }
    if (n > kMaxTimeoutMs) warn(key, "capped at ringproxy's maximum of 3600000 ms");
    pool.timeoutMs = static_cast<uint32_t>(std::min<uint64_t>(n, kMaxTimeoutMs));
  } else if (key == "server_connections") {
    if (n == 0 || n > kMaxConnections) {
      fail(key, "must be 1..256 (ringproxy backend.connections)");
      return;
    }
    pool.connections = static_cast<uint32_t>(n);
    if (n > 1) {
      warn(key, "mapped to backend.connections, which ringproxy opens per worker thread: " +
                    std::to_string(n) + " x threads connections to each shard in total");
    }
  } else if (key == "client_connections") {
    if (n == 0) {
      warn(key,
           "0 (unlimited) has no ringproxy equivalent; limits.max_clients keeps its "
           "default, 10000");
      return;
    }
    pool.maxClients = static_cast<uint32_t>(std::min<uint64_t>(n, kMaxClients));
    warn(key,
         "mapped to limits.max_clients, which ringproxy enforces: connections beyond it are "
         "refused");
  } else if (key == "backlog") {
    warn(key,
         "not configurable: ringproxy listens with the system maximum backlog "
         "(dropped)");
  } else if (key == "redis_db") {
    if (n != 0) {
      fail(key,
           "ringproxy uses database 0 on every shard; keys in db " + text + " would not be found");
    } else {
      warn(key, "0 is the only database ringproxy uses (dropped)");
    }
  } else if (key == "server_failure_limit") {
    pool.failureLimit = n;  // mapped or dropped once auto_eject_hosts is known
  } else {
    pool.retryMs = n;
  }
}

void PoolReader::readBool(const std::string& key, const std::string& text) {
  // nutcracker's conf_set_bool takes exactly these two spellings.
  if (text != "true" && text != "false") {
    fail(key, "'" + text + "' is not \"true\" or \"false\"");
    return;
  }
  const bool on = text == "true";
  if (key == "redis") {
    seenRedis_ = true;
    if (!on) fail(key, "false: memcached pools are not supported, ringproxy speaks Redis only");
  } else if (key == "preconnect") {
    warn(key, on ? "ringproxy always connects to every shard at start-up (dropped)"
                 : "ringproxy connects to every shard at start-up anyway (dropped)");
  } else {
    warn(key, "not configurable in ringproxy (dropped)");
  }
}

void PoolReader::readServers(const YamlNode& value, Pool& pool) {
  if (!value.isSequence()) {
    fail(value.key, "expected a list of \"host:port:weight [name]\"");
    return;
  }
  for (size_t i = 0; i < value.children.size(); ++i) {
    const std::string path = "servers[" + std::to_string(i) + "]";
    const YamlNode& item = value.children[i];
    if (!item.isScalar()) {
      fail(path, "expected \"host:port:weight [name]\"");
      continue;
    }
    readServer(path, item.scalar, pool);
  }
  if (value.children.empty()) fail(value.key, "the pool has no servers");
}

// "host:port:weight [name]", parsed from the end as nutcracker does.
void PoolReader::readServer(const std::string& path, const std::string& line, Pool& pool) {
  const std::string expect = "'" + line + "': expected \"host:port:weight [name]\"";
  if (!line.empty() && line[0] == '/') {
    fail(path, "'" + line + "' is a unix socket; ringproxy reaches shards over TCP only");
    return;
  }
  std::string_view rest(line);
  std::optional<std::string> name;
  if (const size_t space = rest.rfind(' '); space != std::string_view::npos) {
    name = std::string(rest.substr(space + 1));
    rest = rest.substr(0, space);
  }
  const size_t weightColon = rest.rfind(':');
  if (weightColon == std::string_view::npos) return fail(path, expect);
  const std::string_view weightText = rest.substr(weightColon + 1);
  rest = rest.substr(0, weightColon);
  const size_t portColon = rest.rfind(':');
  if (portColon == std::string_view::npos || portColon == 0) return fail(path, expect);
  const std::string_view portText = rest.substr(portColon + 1);
  const std::string_view host = rest.substr(0, portColon);
  const std::optional<uint16_t> port = parsePort(portText);
  const std::optional<uint64_t> weight = parseDigits(weightText);
  if (!port) return fail(path, "'" + line + "': invalid port");
  if (!weight || *weight == 0) return fail(path, "'" + line + "': weight must be > 0");
  if (*weight > kMaxWeight) {
    return fail(path, "'" + line +
                          "': weight above ringproxy's maximum of 65535; scale "
                          "all weights down (this changes the ring, so keys move)");
  }
  if (name && name->empty()) return fail(path, "'" + line + "': empty name after the space");
  Server server;
  // Without a name nutcracker hashes the text before the weight, as written.
  server.name =
      name ? *name : (portText == kKetamaDefaultPort ? std::string(host) : std::string(rest));
  server.address = endpointText(host, *port);
  server.weight = static_cast<uint32_t>(*weight);
  pool.servers.push_back(std::move(server));
}

std::string renderYaml(const std::string& poolName, const Pool& pool) {
  std::ostringstream y;
  y << "# Converted from twemproxy pool '" << commentSafe(poolName)
    << "' by ringproxy --from-twemproxy.\n"
    << "# Same distribution, hash, hash tag and server names as nutcracker: every key stays\n"
    << "# on the shard nutcracker put it on. Other settings are ringproxy defaults; see\n"
    << "# deploy/ringproxy.yaml for all of them (metrics are served on 127.0.0.1:9121).\n"
    << "listen: " << quoted(pool.listen) << "\n"
    << "ring:\n"
    << "  distribution: ketama\n"
    << "  hash: " << pool.hash << "\n"
    << "  hash_tag: " << quoted(pool.hashTag) << "\n";
  if (pool.connections || pool.timeoutMs || pool.autoEject) {
    y << "backend:\n";
    if (pool.connections) y << "  connections: " << *pool.connections << "\n";
    if (pool.timeoutMs) {
      // nutcracker's one timeout bounds both connecting and waiting for a reply.
      y << "  connect_timeout_ms: " << std::min(*pool.timeoutMs, kMaxConnectTimeoutMs) << "\n"
        << "  timeout_ms: " << *pool.timeoutMs << "\n";
    }
    if (pool.autoEject) {
      y << "  # auto_eject_hosts: a shard that stops answering is ejected (its keys go to the\n"
        << "  # other shards). Ejecting re-hashes a live shard's keys: data loss for a store.\n"
        << "  auto_eject:\n"
        << "    enabled: true\n"
        << "    failure_limit: " << pool.failureLimit.value_or(kNutcrackerFailureLimit) << "\n"
        << "    retry_ms: " << pool.retryMs.value_or(kNutcrackerRetryMs) << "\n";
    }
  }
  if (pool.maxClients) y << "limits:\n  max_clients: " << *pool.maxClients << "\n";
  if (pool.autoEject) {
    y << "# auto_eject needs it off: every instance ejects on its own, as nutcracker's do.\n"
      << "cluster:\n  enabled: false\n";
  }
  y << "shards:\n";
  for (const Server& s : pool.servers) {
    y << "  - name: " << quoted(s.name) << "\n"
      << "    address: " << quoted(s.address) << "\n"
      << "    weight: " << s.weight << "\n";
  }
  return y.str();
}

// The pool to convert, or null with an error recorded.
const YamlNode* choosePool(const YamlNode& root, std::string_view wanted, ImportResult& result) {
  if (!root.isMapping() || root.children.empty()) {
    result.errors.push_back("expected a nutcracker config: a mapping of pool names to pools");
    return nullptr;
  }
  std::string names;
  for (size_t i = 0; i < root.children.size(); ++i) {
    const std::string& name = root.children[i].key;
    names += (names.empty() ? "'" : ", '") + name + "'";
    for (size_t j = 0; j < i; ++j) {
      if (root.children[j].key == name) {
        result.errors.push_back("two pools are named '" + name + "' (nutcracker refuses that)");
        return nullptr;
      }
    }
  }
  if (wanted.empty()) {
    if (root.children.size() > 1) {
      result.warnings.push_back("the file has " + std::to_string(root.children.size()) +
                                " pools (" + names + "); converted the first, '" +
                                root.children[0].key + "' (choose with --pool NAME)");
    }
    return &root.children[0];
  }
  for (const YamlNode& pool : root.children) {
    if (pool.key == wanted) return &pool;
  }
  result.errors.push_back("no pool named '" + std::string(wanted) + "' (the file has " + names +
                          ")");
  return nullptr;
}

}  // namespace

ImportResult importTwemproxy(std::string_view nutcrackerYaml, std::string_view pool) {
  ImportResult result;
  YamlDocument doc = parseYaml(nutcrackerYaml);
  if (doc.error) {
    result.errors.push_back(doc.error->str());
    return result;
  }
  const YamlNode* node = choosePool(doc.root, pool, result);
  if (node == nullptr) return result;
  Pool settings;
  if (!PoolReader(node->key, result).read(*node, settings)) return result;
  std::string yaml = renderYaml(node->key, settings);
  // What nutcracker accepts but ringproxy does not (a duplicate address under two names,
  // say) surfaces here rather than at the user's first start.
  LoadResult loaded = loadConfigText(yaml);
  for (const ConfigError& e : loaded.errors) {
    result.errors.push_back("converted config is not valid for ringproxy: " + e.str());
  }
  if (result.errors.empty()) result.yaml = std::move(yaml);
  return result;
}

}  // namespace config
