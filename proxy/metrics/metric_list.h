// The one declaration of every metric ringproxy exports: name, type, help, labels.
// The collector renders from this list; the README's metrics table is generated from it.
#pragma once

#include <array>
#include <string_view>

namespace metrics {

enum class Kind { Counter, Gauge, Histogram };

struct MetricDef {
  std::string_view name;
  Kind kind;
  std::string_view labels;  // comma-separated label names, "" for none
  std::string_view help;
};

enum MetricId : unsigned {
  kRequests,
  kRequestDuration,
  kClientConnections,
  kProtocolErrors,
  kBackendRequests,
  kBackendErrors,
  kBackendConnectionsUp,
  kClientsClosed,
  kConfigReloads,
  kConfigLastReloadSuccess,
  kMigrationActive,
  kMigrationKeysMoved,
  kMigrationKeysScanned,
  kMigrationConflicts,
  kMigrationErrors,
  kMigrationAccessMigrates,
  kRingEpoch,
  kClusterMembers,
  kClusterMembersReady,
  kCacheHits,
  kCacheMisses,
  kCacheEvictions,
  kCacheInvalidations,
  kCacheBytes,
  kCacheEntries,
  kCacheFlushes,
  kHotKeys,
  kHotKeyRate,
  kHotKeyReplicas,
  kBackendEjected,
  kBackendEjections,
  kMetricCount
};

inline constexpr std::array<MetricDef, kMetricCount> kMetrics{{
    {"ringproxy_requests_total", Kind::Counter, "command",
     "Client requests received, by command (unknown commands count as 'unknown')."},
    {"ringproxy_request_duration_seconds", Kind::Histogram, "",
     "Time from reading a request to its reply being ready for the client."},
    {"ringproxy_client_connections", Kind::Gauge, "", "Client connections currently open."},
    {"ringproxy_protocol_errors_total", Kind::Counter, "",
     "Client connections closed for a RESP protocol error."},
    {"ringproxy_backend_requests_total", Kind::Counter, "shard",
     "Requests sent to a shard."},
    {"ringproxy_backend_errors_total", Kind::Counter, "shard,kind",
     "Requests to a shard that failed, by kind (timeout, unavailable, closed, protocol, "
     "overloaded)."},
    {"ringproxy_backend_connections_up", Kind::Gauge, "shard",
     "Backend connections to a shard that are currently connected."},
    {"ringproxy_clients_closed_total", Kind::Counter, "reason",
     "Client connections the proxy closed, by reason (output_limit, idle_timeout, max_clients)."},
    {"ringproxy_config_reloads_total", Kind::Counter, "result",
     "Config reloads (file change or SIGHUP), by result (success, failure)."},
    {"ringproxy_config_last_reload_success_timestamp_seconds", Kind::Gauge, "",
     "Unix time of the last successful config reload (0 before the first)."},
    {"ringproxy_migration_active", Kind::Gauge, "",
     "1 while keys are moving between shards after a ring change, else 0."},
    {"ringproxy_migration_keys_moved_total", Kind::Counter, "",
     "Keys the background mover moved to their new owner (MIGRATE answered OK)."},
    {"ringproxy_migration_keys_scanned_total", Kind::Counter, "",
     "Keys the background mover looked at on source shards (SCAN)."},
    {"ringproxy_migration_conflicts_total", Kind::Counter, "",
     "Keys found on both the old and the new owner with different values (both kept)."},
    {"ringproxy_migration_errors_total", Kind::Counter, "",
     "Failed background MIGRATE/SCAN attempts (retried with backoff)."},
    {"ringproxy_migration_access_migrates_total", Kind::Counter, "",
     "MIGRATE commands sent because a request touched a key that was still moving."},
    {"ringproxy_ring_epoch", Kind::Gauge, "",
     "Ring version: +1 when a migration starts and +1 at its cut-over."},
    {"ringproxy_cluster_members", Kind::Gauge, "",
     "Live ringproxy instances in front of these shards (membership records), this one included."},
    {"ringproxy_cluster_members_ready", Kind::Gauge, "",
     "Of them, those at this instance's ring and migration phase (or further)."},
    {"ringproxy_cache_hits_total", Kind::Counter, "",
     "Cacheable reads answered from the local L1 cache."},
    {"ringproxy_cache_misses_total", Kind::Counter, "",
     "Cacheable reads the L1 cache could not answer (sent to a shard)."},
    {"ringproxy_cache_evictions_total", Kind::Counter, "",
     "L1 entries dropped to stay within cache.max_memory."},
    {"ringproxy_cache_invalidations_total", Kind::Counter, "",
     "Keys named by the shards' CLIENT TRACKING invalidation messages."},
    {"ringproxy_cache_bytes", Kind::Gauge, "",
     "Bytes the L1 cache holds (values, keys and bookkeeping), all workers."},
    {"ringproxy_cache_entries", Kind::Gauge, "", "Values the L1 cache holds, all workers."},
    {"ringproxy_cache_flushes_total", Kind::Counter, "shard,reason",
     "Times a shard's whole L1 content was dropped, counted once per worker partition, by "
     "reason (invalidation = a null invalidation after FLUSHALL/FLUSHDB, subscriber_lost, "
     "connection_lost, ring_change)."},
    {"ringproxy_hot_keys", Kind::Gauge, "", "Keys in the published hot set."},
    {"ringproxy_hot_key_rate", Kind::Gauge, "key",
     "Requests per second of each hot key (only with hot_keys.export_key_names: key names "
     "as label values)."},
    {"ringproxy_hot_key_replicas", Kind::Gauge, "",
     "Copies of hot keys the proxy keeps on other shards (hot_key_replication)."},
    {"ringproxy_backend_ejected", Kind::Gauge, "shard",
     "1 while backend.auto_eject has taken the shard out of routing (its keys go to the other "
     "shards), else 0."},
    {"ringproxy_backend_ejections_total", Kind::Counter, "shard",
     "Times backend.auto_eject took the shard out of routing."},
}};

inline constexpr std::array<std::string_view, 4> kFlushReasons{"invalidation", "subscriber_lost",
                                                               "connection_lost", "ring_change"};
enum FlushReason : unsigned { kFlushInvalidation, kFlushSubscriberLost, kFlushConnectionLost, kFlushRingChange };

inline constexpr std::array<std::string_view, 3> kCloseReasons{"output_limit", "idle_timeout",
                                                               "max_clients"};
enum CloseReason : unsigned { kCloseOutputLimit, kCloseIdleTimeout, kCloseMaxClients };

// Upper bounds of the request duration histogram, in seconds.
inline constexpr std::array<double, 15> kDurationBuckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1.0,   2.5,    5.0};

inline constexpr std::array<std::string_view, 5> kBackendErrorKinds{
    "timeout", "unavailable", "closed", "protocol", "overloaded"};

}  // namespace metrics
