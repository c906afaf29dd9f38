// The shape of a ringproxy config file: which keys exist where, their ranges, and the
// checks that span several fields. Implements config_loader.h.
// Called by: main (--config, --check), the reloader, tests/unit/config_loader_test.cpp.
#include "config/config_loader.h"

#include <cctype>

#include "proxy/command/command_table.h"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>
#include <unordered_map>

#include "config/config_cache.h"
#include "config/config_reader.h"
#include "routing/hash_fn.h"
#include "config/yaml_document.h"

namespace config {
namespace {

// Upper bounds exist to catch typos (an extra zero or three) before they turn into
// an allocation failure or a thread storm at start-up, not to police real deployments.
constexpr IntRule kThreads{0, 256, true};
constexpr IntRule kVnodes{1, 65536};
constexpr IntRule kWeight{0, 65535};
constexpr IntRule kConnections{1, 256};
constexpr IntRule kConnectTimeoutMs{1, 600'000};
constexpr IntRule kTimeoutMs{1, 3'600'000};
constexpr IntRule kMaxPending{1, 1 << 24};
constexpr IntRule kMaxClients{1, 10'000'000};
constexpr IntRule kMaxArgs{1, 2'147'483'647};  // Redis' own multibulk ceiling
constexpr IntRule kIdleTimeoutS{0, 31'536'000};  // up to a year, 0 = never
constexpr IntRule kBatchKeys{1, 100'000};
constexpr IntRule kClusterDb{1, 1'000'000};
constexpr IntRule kHeartbeatMs{50, 60'000};
constexpr IntRule kMemberTtlMs{100, 600'000};
constexpr IntRule kKeysPerSecond{0, 100'000'000};
constexpr IntRule kFailureLimit{1, 100};
constexpr IntRule kRetryMs{100, 3'600'000};
constexpr IntRule kProbeIntervalMs{50, 60'000};
constexpr ByteRule kBytes{};
// 16M points x 16 bytes = 256MiB per ring version, and two versions coexist on reload.
constexpr uint64_t kMaxRingPoints = 1ull << 24;

constexpr std::string_view kExpectLogLevel = "expected one of debug, info, warn, error";
constexpr std::string_view kExpectDistribution = "expected vnodes or ketama";
constexpr std::string_view kExpectHashTag =
    "expected two characters (e.g. \"{}\") or \"\" for none";

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

bool isWildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

// Two sockets this process binds: a wildcard bind takes the port on every address.
bool bindsCollide(const Endpoint& a, const Endpoint& b) {
  if (a.port != b.port) return false;
  return lower(a.host) == lower(b.host) || isWildcard(a.host) || isWildcard(b.host);
}

void readLogLevel(const Section& top, std::string& out) {
  const std::string* text = readScalar(top, "log_level", kExpectLogLevel);
  if (text == nullptr) return;
  if (*text == "debug" || *text == "info" || *text == "warn" || *text == "error") {
    out = *text;
  } else {
    top.fail("log_level", std::string(kExpectLogLevel));
  }
}

void readMetrics(const Section& s, MetricsConfig& out) {
  readBool(s, "enabled", out.enabled);
  readEndpoint(s, "listen", out.listen);
}

void readHashTag(const Section& s, std::string& out) {
  const YamlNode* node = s.find("hash_tag");
  if (node == nullptr) return;
  if (node->isMapping() && node->children.empty()) {
    // Unquoted {} is an empty YAML mapping: the most likely mistake in this file.
    s.fail("hash_tag", std::string(kExpectHashTag) + "; quote it: hash_tag: \"{}\"");
  } else if (!node->isScalar() || (node->scalar.size() != 0 && node->scalar.size() != 2)) {
    s.fail("hash_tag", std::string(kExpectHashTag));
  } else {
    out = node->scalar;
  }
}

void readRing(const Section& s, routing::RingOptions& out) {
  if (const std::string* text = readScalar(s, "distribution", kExpectDistribution)) {
    if (*text == "vnodes") {
      out.distribution = routing::Distribution::Vnodes;
    } else if (*text == "ketama") {
      out.distribution = routing::Distribution::Ketama;
    } else {
      s.fail("distribution", std::string(kExpectDistribution));
    }
  }
  const std::string names(routing::hashKindNames());
  if (const std::string* text = readScalar(s, "hash", "expected one of: " + names)) {
    if (std::optional<routing::HashKind> kind = routing::hashKindFromName(*text)) {
      out.hash = *kind;
    } else {
      s.fail("hash", "unknown hash '" + *text + "' (expected one of: " + names + ")");
    }
  }
  readHashTag(s, out.hashTag);
  // Read even with ketama (which ignores it) so generated configs can always emit it.
  readUint32(s, "vnodes", kVnodes, out.vnodesPerWeight);
}

// A non-empty plain string (passwords, user names). Never echoed in errors: secrets stay
// out of logs.
bool readSecret(const Section& s, std::string_view key, std::string& out) {
  const YamlNode* node = s.find(key);
  if (node == nullptr) return true;
  if (!node->isScalar() || node->scalar.empty()) {
    s.fail(key, "expected a non-empty string");
    return false;
  }
  out = node->scalar;
  return true;
}

void readCredentials(const Section& s, Credentials& out) {
  readSecret(s, "username", out.username);
  readSecret(s, "password", out.password);
  if (!out.username.empty() && out.password.empty()) s.fail("password", "required with username");
}

void readAuth(const Section& s, AuthConfig& out) {
  readSecret(s, "requirepass", out.requirepass);
  const YamlNode* users = s.find("users");
  if (users == nullptr || users->isNull()) return;
  if (!users->isSequence()) return s.fail("users", "expected a list");
  for (size_t i = 0; i < users->children.size(); ++i) {
    const std::string path = s.pathOf("users") + "[" + std::to_string(i) + "]";
    const Section u(s.errors(), &users->children[i], path, {"name", "password"});
    if (!u.valid()) continue;
    AuthUser user;
    if (u.find("name") == nullptr) u.fail("name", "required");
    if (u.find("password") == nullptr) u.fail("password", "required");
    if (readSecret(u, "name", user.name) && readSecret(u, "password", user.password) &&
        !user.name.empty() && !user.password.empty()) {
      out.users.push_back(std::move(user));
    }
  }
}

// Both `tls` (listener) and `backend.tls` (shards); file paths are checked when the
// proxy builds its TLS contexts (start-up, reload), which names the bad file.
void readTls(const Section& s, TlsConfig& out, bool listener) {
  readBool(s, "enabled", out.enabled);
  for (auto [key, field] : {std::pair{"cert_file", &out.certFile}, {"key_file", &out.keyFile}, {"ca_file", &out.caFile}}) {
    if (const std::string* v = readScalar(s, key, "expected a file path")) *field = *v;
  }
  if (!listener) {
    readBool(s, "verify", out.verify);
    if (const std::string* v = readScalar(s, "server_name", "expected a host name")) out.serverName = *v;
  }
  if (out.enabled && listener && (out.certFile.empty() || out.keyFile.empty())) {
    s.fail(out.certFile.empty() ? "cert_file" : "key_file", "required when tls.enabled is true");
  } else if (out.certFile.empty() != out.keyFile.empty()) {
    s.fail(out.certFile.empty() ? "cert_file" : "key_file", "cert_file and key_file go together");
  }
}

void readAutoEject(const Section& s, AutoEjectConfig& out) {
  readBool(s, "enabled", out.enabled);
  readUint32(s, "failure_limit", kFailureLimit, out.failureLimit);
  readUint32(s, "retry_ms", kRetryMs, out.retryMs);
  readUint32(s, "probe_interval_ms", kProbeIntervalMs, out.probeIntervalMs);
}

void readBackend(const Section& s, BackendConfig& out) {
  readCredentials(s, out.credentials);
  readUint32(s, "connections", kConnections, out.connections);
  readUint32(s, "connect_timeout_ms", kConnectTimeoutMs, out.connectTimeoutMs);
  readUint32(s, "timeout_ms", kTimeoutMs, out.timeoutMs);
  readUint32(s, "max_pending", kMaxPending, out.maxPending);
  readBytes(s, "max_buffer_bytes", kBytes, out.maxBufferBytes);
  readTls(Section(s.errors(), s.find("tls"), s.pathOf("tls"),
                  {"enabled", "cert_file", "key_file", "ca_file", "verify", "server_name"}),
          out.tls, false);
  readAutoEject(Section(s.errors(), s.find("auto_eject"), s.pathOf("auto_eject"),
                        {"enabled", "failure_limit", "retry_ms", "probe_interval_ms"}),
                out.autoEject);
}

void readLimits(const Section& s, LimitsConfig& out) {
  readUint32(s, "max_clients", kMaxClients, out.maxClients);
  readUint32(s, "client_max_pending", kMaxPending, out.clientMaxPending);
  readBytes(s, "client_max_output_bytes", kBytes, out.clientMaxOutputBytes);
  readBytes(s, "max_bulk_bytes", kBytes, out.maxBulkBytes);
  readUint32(s, "max_args", kMaxArgs, out.maxArgs);
  readBytes(s, "max_request_bytes", kBytes, out.maxRequestBytes);
  readUint32(s, "idle_timeout_s", kIdleTimeoutS, out.idleTimeoutS);
}

// One shard as read, with what is known about it, for the checks across shards.
struct ShardRead {
  ShardConfig shard;
  bool addressOk = false;
  bool nameOk = false;
  bool nameDerived = false;  // no name: key; the address stands in for it
  bool weightOk = false;
};

void readShardName(const Section& s, ShardRead& read) {
  const std::string* text = readScalar(s, "name", "expected a name");
  if (text == nullptr) return;
  if (text->empty()) {
    s.fail("name", "must not be empty");
    return;
  }
  for (unsigned char c : *text) {
    // Names end up in metric labels and log lines, where spaces and controls mislead.
    if (c <= ' ' || c == 0x7f) {
      s.fail("name", "must not contain spaces or control characters");
      return;
    }
  }
  read.shard.name = *text;
  read.nameOk = true;
}

ShardRead readShard(ErrorList& errors, const YamlNode& node, const std::string& path) {
  ShardRead read;
  const Section s(errors, &node, path, {"name", "address", "weight", "username", "password"});
  if (node.isNull()) errors.add(path, "expected a mapping");
  if (node.isNull() || !s.valid()) return read;
  if (s.find("address") == nullptr) {
    s.fail("address", "required");
  } else {
    read.addressOk = readEndpoint(s, "address", read.shard.address);
  }
  if (s.find("name") != nullptr) {
    readShardName(s, read);
  } else if (read.addressOk) {
    // twemproxy names an unnamed server by its host:port, so a migrated ketama pool
    // keeps every key where nutcracker put it.
    read.shard.name = read.shard.address.str();
    read.nameOk = read.nameDerived = true;
  }
  read.weightOk =
      s.find("weight") == nullptr || readUint32(s, "weight", kWeight, read.shard.weight);
  if (s.find("username") != nullptr || s.find("password") != nullptr) {
    Credentials c;
    readCredentials(s, c);
    read.shard.credentials = c;
  }
  return read;
}

void checkShardSet(ErrorList& errors, const std::vector<ShardRead>& reads,
                   const Endpoint* listen) {
  std::unordered_map<std::string, size_t> addresses;
  std::unordered_map<std::string, size_t> names;
  for (size_t i = 0; i < reads.size(); ++i) {
    const ShardRead& read = reads[i];
    const std::string path = itemPath("shards", i);
    bool duplicateAddress = false;
    if (read.addressOk) {
      const std::string address = read.shard.address.str();
      duplicateAddress = !addresses.emplace(lower(address), i).second;
      if (duplicateAddress) {
        errors.add(path + ".address", "duplicate address '" + address + "'");
      } else if (listen != nullptr && lower(address) == lower(listen->str())) {
        errors.add(path + ".address", "is the proxy's own listen address");
      }
    }
    // A derived name repeats a duplicate address; that was just reported.
    if (read.nameOk && !(duplicateAddress && read.nameDerived) &&
        !names.emplace(read.shard.name, i).second) {
      errors.add(path + ".name", "duplicate name '" + read.shard.name + "'");
    }
  }
}

// Returns the total weight, or nullopt when some weight is unknown (already reported).
std::optional<uint64_t> readShards(const Section& top, const Endpoint* listen,
                                   std::vector<ShardConfig>& out) {
  const YamlNode* list = top.find("shards");
  if (list == nullptr) {
    top.fail("shards", "required");
    return std::nullopt;
  }
  if (!list->isNull() && !list->isSequence()) {
    top.fail("shards", "expected a list");
    return std::nullopt;
  }
  if (list->children.empty()) {
    top.fail("shards", "at least one shard is required");
    return std::nullopt;
  }
  std::vector<ShardRead> reads;
  bool weightsKnown = true;
  uint64_t totalWeight = 0;
  for (size_t i = 0; i < list->children.size(); ++i) {
    reads.push_back(readShard(top.errors(), list->children[i], itemPath("shards", i)));
    weightsKnown = weightsKnown && reads.back().weightOk;
    totalWeight += reads.back().shard.weight;
    out.push_back(reads.back().shard);
  }
  checkShardSet(top.errors(), reads, listen);
  if (!weightsKnown) return std::nullopt;
  if (totalWeight == 0) top.fail("shards", "at least one shard must have weight > 0");
  return totalWeight;
}

void checkAcrossFields(ErrorList& errors, const ProxyConfig& cfg,
                       std::optional<uint64_t> totalWeight) {
  if (cfg.metrics.enabled && !errors.hasErrorAt("listen") &&
      !errors.hasErrorAt("metrics.listen") && bindsCollide(cfg.listen, cfg.metrics.listen)) {
    errors.add("metrics.listen", "conflicts with listen (" + cfg.listen.str() + ")");
  }
  // A bulk string larger than the whole request could never be accepted.
  if (!errors.hasErrorAt("limits.max_bulk_bytes") &&
      !errors.hasErrorAt("limits.max_request_bytes") &&
      cfg.limits.maxBulkBytes > cfg.limits.maxRequestBytes) {
    errors.add("limits.max_bulk_bytes", "must be <= limits.max_request_bytes (" +
                                            formatByteSize(cfg.limits.maxRequestBytes) + ")");
  }
  if (cfg.ring.distribution == routing::Distribution::Vnodes && totalWeight &&
      !errors.hasErrorAt("ring.vnodes")) {
    const uint64_t points = *totalWeight * cfg.ring.vnodesPerWeight;
    if (points > kMaxRingPoints) {
      errors.add("ring.vnodes", "vnodes x total shard weight = " + std::to_string(points) +
                                    " ring points, more than " + std::to_string(kMaxRingPoints));
    }
  }
  checkCacheAcrossFields(errors, cfg, totalWeight);  // cache vs backend.tls, replicas vs shards
  if (cfg.backend.autoEject.enabled) {
    // Each instance probes on its own: several would eject and return a shard at different
    // moments and route its keys to different shards meanwhile. Turning the membership
    // off says "one instance" (or that the operator accepts the difference).
    if (cfg.cluster.enabled) {
      errors.add("backend.auto_eject.enabled",
                 "needs cluster.enabled: false (each proxy instance ejects shards on its own, so "
                 "several instances would route an ejected shard's keys differently)");
    }
    if (cfg.backend.tls.enabled) {
      errors.add("backend.auto_eject.enabled",
                 "cannot be used with backend.tls (the probes use hiredis 0.14, which has no TLS)");
    }
  }
}

// A list of command names ("keys", "config|set"); each must name a Redis 7.0 command.
void readCommandList(const Section& s, std::string_view key, std::vector<std::string>& out) {
  const YamlNode* node = s.find(key);
  if (node == nullptr || node->isNull()) return;
  if (!node->isSequence()) return s.fail(key, "expected a list of command names");
  for (size_t i = 0; i < node->children.size(); ++i) {
    const YamlNode& item = node->children[i];
    const std::string path = s.pathOf(key) + "[" + std::to_string(i) + "]";
    std::string name = item.isScalar() ? item.scalar : std::string();
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string base = name.substr(0, name.find('|'));
    if (name.empty() || cmd::lookup(base) == nullptr) {
      s.errors().add(path, "unknown command '" + (item.isScalar() ? item.scalar : std::string()) + "'");
      continue;
    }
    out.push_back(name);
  }
}

void readCommands(const Section& s, CommandsConfig& out) {
  readCommandList(s, "allow", out.allow);
  readCommandList(s, "deny", out.deny);
}

void readMigration(const Section& s, MigrationConfig& out) {
  readUint32(s, "batch_keys", kBatchKeys, out.batchKeys);
  readUint32(s, "max_keys_per_second", kKeysPerSecond, out.maxKeysPerSecond);
  readUint32(s, "timeout_ms", kTimeoutMs, out.timeoutMs);
  if (const std::string* file = readScalar(s, "state_file", "expected a file path")) out.stateFile = *file;
}

void readCluster(const Section& s, ClusterConfig& out) {
  readBool(s, "enabled", out.enabled);
  if (const std::string* id = readScalar(s, "id", "expected an instance id")) out.id = *id;
  readUint32(s, "db", kClusterDb, out.db);
  readUint32(s, "heartbeat_ms", kHeartbeatMs, out.heartbeatMs);
  if (readUint32(s, "member_ttl_ms", kMemberTtlMs, out.memberTtlMs) && out.memberTtlMs < 2 * out.heartbeatMs) {
    s.fail("member_ttl_ms", "must be at least twice heartbeat_ms (a record must survive a late heartbeat)");
  }
}

void readConfig(ErrorList& errors, const YamlNode& root, ProxyConfig& cfg) {
  if (!root.isNull() && !root.isMapping()) {
    errors.add("", "expected a mapping of settings at the top level");
    return;
  }
  const Section top(errors, &root, "",
                    {"listen", "threads", "log_level", "metrics", "health", "ring", "backend",
                     "limits", "commands", "auth", "migration", "cluster", "tls", "cache",
                     "hot_keys", "hot_key_replication", "shards"});
  const bool listenOk = readEndpoint(top, "listen", cfg.listen) || top.find("listen") == nullptr;
  readUint32(top, "threads", kThreads, cfg.threads);
  readLogLevel(top, cfg.logLevel);
  readMetrics(Section(errors, top.find("metrics"), "metrics", {"enabled", "listen"}),
              cfg.metrics);
  {
    const Section health(errors, top.find("health"), "health", {"enabled", "listen"});
    readBool(health, "enabled", cfg.health.enabled);
    readEndpoint(health, "listen", cfg.health.listen);
  }
  readRing(
      Section(errors, top.find("ring"), "ring", {"distribution", "hash", "hash_tag", "vnodes"}),
      cfg.ring);
  readBackend(Section(errors, top.find("backend"), "backend",
                      {"connections", "connect_timeout_ms", "timeout_ms", "max_pending",
                       "max_buffer_bytes", "username", "password", "tls", "auto_eject"}),
              cfg.backend);
  readLimits(Section(errors, top.find("limits"), "limits",
                     {"max_clients", "client_max_pending", "client_max_output_bytes",
                      "max_bulk_bytes", "max_args", "max_request_bytes", "idle_timeout_s"}),
             cfg.limits);
  readCommands(Section(errors, top.find("commands"), "commands", {"allow", "deny"}), cfg.commands);
  readAuth(Section(errors, top.find("auth"), "auth", {"requirepass", "users"}), cfg.auth);
  readMigration(Section(errors, top.find("migration"), "migration",
                        {"batch_keys", "max_keys_per_second", "timeout_ms", "state_file"}),
                cfg.migration);
  readTls(Section(errors, top.find("tls"), "tls", {"enabled", "cert_file", "key_file", "ca_file"}), cfg.tls, true);
  readCluster(Section(errors, top.find("cluster"), "cluster",
                      {"enabled", "id", "db", "heartbeat_ms", "member_ttl_ms"}),
              cfg.cluster);
  readCache(Section(errors, top.find("cache"), "cache",
                    {"enabled", "max_memory", "max_value_bytes", "max_ttl_ms", "admit"}),
            cfg.cache);
  readHotKeys(Section(errors, top.find("hot_keys"), "hot_keys",
                      {"window_ms", "top_k", "min_rate", "export_key_names"}),
              cfg.hotKeys);
  readHotKeyReplication(Section(errors, top.find("hot_key_replication"), "hot_key_replication",
                                {"replicas", "ttl_ms"}),
                        cfg.hotKeyReplication);
  const std::optional<uint64_t> totalWeight =
      readShards(top, listenOk ? &cfg.listen : nullptr, cfg.shards);
  checkAcrossFields(errors, cfg, totalWeight);
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// False with `error` set (an errno value) when the file cannot be opened or read.
bool readFile(const std::string& path, std::string& out, int& error) {
  const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    error = errno;
    return false;
  }
  char buffer[65536];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) out.append(buffer, n);
  if (std::ferror(file.get())) {
    error = errno;  // EISDIR for a directory, which fopen happily opens
    return false;
  }
  return true;
}

}  // namespace

namespace {
std::string hexDigest(std::string_view text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(routing::fnv1a64(text)));
  return buf;
}
}  // namespace

LoadResult loadConfigText(std::string_view yamlText) {
  LoadResult result;
  YamlDocument doc = parseYaml(yamlText);
  if (doc.error) {
    result.errors.push_back(std::move(*doc.error));
    return result;
  }
  ErrorList errors;
  ProxyConfig cfg;
  readConfig(errors, doc.root, cfg);
  if (errors.empty()) {
    cfg.digest = hexDigest(yamlText);
    result.config = std::move(cfg);
  } else {
    result.errors = errors.take();
  }
  return result;
}

LoadResult loadConfigFile(const std::string& path) {
  std::string text;
  int error = 0;
  if (!readFile(path, text, error)) {
    // error_code's message is strerror's text without strerror's shared buffer, which
    // matters because the reloader runs beside the workers.
    const std::string reason = std::error_code(error, std::generic_category()).message();
    return LoadResult{std::nullopt, {ConfigError{"", "cannot read " + path + ": " + reason}}};
  }
  LoadResult result = loadConfigText(text);
  if (result.config) result.config->sourcePath = path;
  return result;
}

std::vector<routing::ShardSpec> ringShards(const ProxyConfig& cfg) {
  std::vector<routing::ShardSpec> specs;
  specs.reserve(cfg.shards.size());
  for (const ShardConfig& shard : cfg.shards) specs.push_back({shard.name, shard.weight});
  return specs;
}

}  // namespace config
