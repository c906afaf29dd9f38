// Verification tools for the live-rebalancing e2e tests: a dataset of every Redis type
// loaded through the proxy (pipelined, ~10% TTL, ~10% hash-tagged) and checked back
// (values through the proxy, TTLs kept, placement directly on the shards), and
// VerifyLoad, a read/write load that runs while keys move and counts every error and
// every wrong read (read-your-writes for writers, exact static values for readers: a
// nil there is a key lost in the move).
// Owns: the dataset's key naming and expected values (verify_dataset.cpp); VerifyLoad
// owns its threads and their proxy connections (verify_load.cpp).
// Called by: tests/integration/migration_e2e_test.cpp (and its companion files).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "routing/hash_ring.h"
#include "tests/support/redis_client.h"

namespace testsupport {

struct DatasetOptions {
  std::string prefix = "ds:";
  long long ttlMs = 600000;   // given to ~10% of the keys (of every type)
  size_t pipelineDepth = 512;  // commands per round trip
  size_t connections = 2;      // parallel proxy connections for load and check
};

// What loadDataset() wrote. Key i's name, type, value and TTL are a pure function of
// (prefix, i), so the dataset needs no copy of the data to be checked.
struct Dataset {
  DatasetOptions options;
  size_t size = 0;
  std::chrono::steady_clock::time_point loadStarted;
  std::chrono::steady_clock::time_point loadFinished;
  size_t rewritten = 0;  // keys the proxy timed out on while loading, written again

  std::string key(size_t i) const;
  std::vector<std::string> keys() const;
  bool hasTtl(size_t i) const;
  // The command that reads key i back whole (GET, HGETALL, LRANGE, SMEMBERS, ZRANGE,
  // XRANGE), and the problem with its reply ("" when it is exactly what was loaded).
  std::vector<std::string> readCommand(size_t i) const;
  std::string checkRead(size_t i, const Reply& reply) const;
};

// Loads n keys through the proxy `client` (and options.connections - 1 more connections
// to the same port). Throws std::runtime_error on any unexpected reply; a key the proxy
// timed out on is written again (a few times, after pauses) before that counts.
Dataset loadDataset(Client& client, size_t n, DatasetOptions options = {});

struct DatasetReport {
  size_t checked = 0;
  size_t missing = 0;     // nil / empty through the proxy
  size_t wrongValue = 0;  // present, other value
  size_t wrongTtl = 0;    // TTL lost, added, grown or shrunk by more than the elapsed time
  size_t misplaced = 0;   // not on exactly its owner (checked on the shards directly)
  size_t reread = 0;      // reads that hit the proxy's backend timeout and were repeated
  std::vector<std::string> samples;  // the first problems, readable
  bool ok() const { return missing + wrongValue + wrongTtl + misplaced == 0; }
  std::string describe() const;
};

// Reads every key back through the proxy (value and PTTL) and checks that each lives on
// exactly ring.ownerOf(key) among `shardPorts` (which follow the order of ring.shards()).
// A key the proxy timed out on is read again (a few times, after pauses) before it counts.
DatasetReport verifyDataset(Client& client, const Dataset& ds,
                            const std::vector<uint16_t>& shardPorts,
                            const routing::HashRing& ring);

struct VerifyLoadOptions {
  size_t writers = 4;
  size_t readers = 2;          // readers need a dataset; none without one
  size_t keysPerWriter = 48;   // spread over the six kinds of writer key
  std::string prefix = "vl:";
  const Dataset* dataset = nullptr;  // the static keys the readers check (never written)
  std::chrono::milliseconds timeout{10000};  // per request
};

struct LoadSummary {
  uint64_t ops = 0;         // requests sent (writes and reads)
  uint64_t errors = 0;      // error replies, I/O errors, failed connects
  // A reply that contradicts what the thread wrote or the dataset holds: a read of another
  // value, or a write reply that betrays lost or duplicated state (RPUSH's new length,
  // HSET / ZADD / SADD's count of new fields or members).
  uint64_t wrongReads = 0;
  std::vector<std::string> errorSamples;
  std::vector<std::string> wrongSamples;
  std::vector<std::string> persistentKeys;  // writer keys that must exist afterwards
  long long p50Us = 0, p99Us = 0, maxUs = 0;  // per-request latency
  double seconds = 0;
  bool clean() const { return errors == 0 && wrongReads == 0; }
  std::string describe() const;
};

class VerifyLoad {
 public:
  // Starts the threads at once; each opens its own connection to the proxy on `port`.
  VerifyLoad(uint16_t port, VerifyLoadOptions options);
  ~VerifyLoad();  // stops (and discards the summary) when stop() was not called
  VerifyLoad(const VerifyLoad&) = delete;
  VerifyLoad& operator=(const VerifyLoad&) = delete;

  uint64_t ops() const;
  // Bounded wait until every thread has done at least `perThread` requests: the load is
  // really flowing before the test edits the config.
  bool waitForOps(uint64_t perThread, std::chrono::milliseconds timeout) const;
  // Stops the threads; each writer then re-reads every key it owns (the final state must
  // be what it last wrote). Returns the merged summary.
  LoadSummary stop();

  struct ThreadState;  // per-thread counters and samples (verify_load.cpp)

 private:
  VerifyLoadOptions options_;
  std::vector<std::unique_ptr<ThreadState>> states_;
  std::vector<std::jthread> threads_;
  std::chrono::steady_clock::time_point started_;
  bool stopped_ = false;
};

// Shared by verify_dataset.cpp and verify_load.cpp; not for tests.
namespace verifydetail {
constexpr size_t kMaxSamples = 8;  // problems kept verbatim per counter
// Appends `s` unless `v` already holds kMaxSamples entries.
void addSample(std::vector<std::string>& v, std::string s);
// A command as one readable line (each argument cut to 40 bytes).
std::string joinCommand(const std::vector<std::string>& cmd);
// An HGETALL reply with its field/value pairs sorted by field (hash order is not fixed).
Reply sortedPairs(Reply r);
}  // namespace verifydetail

}  // namespace testsupport
