// Plain values of one ringproxy configuration. Produced only by config_loader (the one
// place yaml-cpp is used); consumed by the proxy at start-up and on reload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "routing/hash_ring.h"

namespace config {

struct Endpoint {
  std::string host;  // IPv6 without brackets ("::1"), as resolvers and bind() want it
  uint16_t port = 0;
  // Brackets an IPv6 host so the text parses back as the same endpoint.
  std::string str() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

// What the proxy sends as AUTH [username] password on each backend connection.
struct Credentials {
  std::string username;  // empty: AUTH <password> (the default user)
  std::string password;  // empty: no AUTH at all
};

struct ShardConfig {
  std::string name;
  Endpoint address;
  uint32_t weight = 1;
  std::optional<Credentials> credentials;  // overrides backend.username/password
};

// Client authentication, Redis-style: requirepass is the default user's password
// (AUTH <pass>); users are ACL-style (AUTH <user> <pass>). Neither set = no AUTH needed.
struct AuthUser {
  std::string name;
  std::string password;
};

struct AuthConfig {
  std::string requirepass;
  std::vector<AuthUser> users;
  bool required() const { return !requirepass.empty() || !users.empty(); }
};

struct MetricsConfig {
  bool enabled = true;
  Endpoint listen{"127.0.0.1", 9121};
};

// Liveness/readiness HTTP endpoints (/healthz, /readyz) for orchestrators. Off by default
// so that several proxies on one host never collide on a fixed port.
struct HealthConfig {
  bool enabled = false;
  Endpoint listen{"127.0.0.1", 9122};
};

// TLS settings, for the client listener (`tls`) or the shard connections (`backend.tls`).
struct TlsConfig {
  bool enabled = false;
  std::string certFile;    // listener: required; backend: a client certificate (optional)
  std::string keyFile;
  std::string caFile;      // listener: clients must present a cert it signed; backend: the
                           // CA of the shards' certificates (the system store when empty)
  bool verify = true;      // backend: check the shard's certificate and name
  std::string serverName;  // backend: the name certificates must carry; empty = shard host
};

// Twemproxy's auto_eject_hosts: a shard that fails `failureLimit` PINGs in a row is taken
// out of routing (its keys go to the other shards, by the ring without it) until it
// answers a PING again, tried `retryMs` after the ejection. Routing only, never a data
// move: fine for a cache, data loss for a store. Off by default (proxy/server/shard_prober.h).
struct AutoEjectConfig {
  bool enabled = false;
  uint32_t failureLimit = 2;       // consecutive failed probes before a shard is ejected
  uint32_t retryMs = 30000;        // an ejected shard is probed again after this long
  uint32_t probeIntervalMs = 500;  // each shard is probed this often
};

struct BackendConfig {
  uint32_t connections = 1;          // per worker, per shard
  uint32_t connectTimeoutMs = 1000;
  uint32_t timeoutMs = 2000;         // a request to a shard fails after this long
  uint32_t maxPending = 65536;       // in-flight requests per backend connection
  uint64_t maxBufferBytes = 64ull << 20;  // unsent bytes per backend connection
  Credentials credentials;                // backend.username / backend.password
  TlsConfig tls;
  AutoEjectConfig autoEject;              // backend.auto_eject
};

struct LimitsConfig {
  uint32_t maxClients = 10000;
  uint32_t clientMaxPending = 1024;       // in-flight requests per client before reading pauses
  uint64_t clientMaxOutputBytes = 64ull << 20;  // buffered replies before reading pauses
  uint64_t maxBulkBytes = 512ull << 20;   // proto-max-bulk-len
  uint32_t maxArgs = 1u << 20;
  uint64_t maxRequestBytes = 1ull << 30;  // client-query-buffer-limit
  uint32_t idleTimeoutS = 0;              // close clients idle this long (Redis `timeout`); 0 = never
};

// Which commands an operator allows or denies. Names are lowercase command names, or
// "command|subcommand" (e.g. "config|set"). Denied by default: see kDeniedByDefault in
// proxy/server/command_policy.h.
struct CommandsConfig {
  std::vector<std::string> allow;
  std::vector<std::string> deny;
};

// Live rebalancing: how the background mover works (see proxy/server/migration_coordinator.h).
struct MigrationConfig {
  uint32_t batchKeys = 500;         // keys per MIGRATE ... KEYS
  uint32_t maxKeysPerSecond = 0;    // background moves, whole process; 0 = unlimited
  uint32_t timeoutMs = 5000;        // MIGRATE's own timeout (source -> target transfer)
  std::string stateFile;            // unfinished plan; empty = "<config path>.migration"
};

// Several proxy instances in front of the same shards agree on migration phases through
// heartbeat records in a reserved database of every shard (proxy/migration/membership.h).
struct ClusterConfig {
  bool enabled = true;
  std::string id;               // empty: "<listen>-<random hex>" at start-up
  uint32_t db = 15;             // reserved database for the records (never 0)
  uint32_t heartbeatMs = 500;
  uint32_t memberTtlMs = 3000;  // a record not refreshed this long no longer counts
};

// The local first-level cache (design §6): kept coherent with Redis CLIENT TRACKING.
enum class CacheAdmit : uint8_t { Hot, All };
struct CacheConfig {
  bool enabled = false;
  uint64_t maxMemory = 256ull << 20;  // whole process, split evenly over the workers
  uint64_t maxValueBytes = 64ull << 10;
  uint32_t maxTtlMs = 60000;          // safety net; a key's own PTTL also bounds an entry
  CacheAdmit admit = CacheAdmit::Hot; // hot: only keys in the published hot set
};

// Hot-key detection: per-worker heavy-hitter counts merged every window.
struct HotKeysConfig {
  uint32_t windowMs = 1000;
  uint32_t topK = 64;          // at most this many keys published as hot
  double minRate = 1000;       // requests/s for a key to count as hot
  bool exportKeyNames = false; // metrics: a per-key gauge labelled with the key name
};

// Copies of hot keys on other shards (design §6, seed §7.5). replicas 0 = off.
struct HotKeyReplicationConfig {
  uint32_t replicas = 0;
  uint32_t ttlMs = 30000;
};

struct ProxyConfig {
  Endpoint listen{"127.0.0.1", 6380};
  TlsConfig tls;         // the client listener speaks TLS only when tls.enabled
  uint32_t threads = 0;  // 0 = one worker per core
  MetricsConfig metrics;
  HealthConfig health;
  routing::RingOptions ring;  // distribution, hash, hash_tag, vnodes
  BackendConfig backend;
  LimitsConfig limits;
  CommandsConfig commands;
  AuthConfig auth;
  MigrationConfig migration;
  ClusterConfig cluster;
  CacheConfig cache;
  HotKeysConfig hotKeys;
  HotKeyReplicationConfig hotKeyReplication;
  std::vector<ShardConfig> shards;
  std::string logLevel = "info";
  std::string sourcePath;  // file it was loaded from (empty for text)
  std::string digest;      // FNV-1a 64 of the file's bytes, hex: tells two files apart in logs
};

}  // namespace config
