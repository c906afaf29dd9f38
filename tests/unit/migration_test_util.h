// Test fixture for the Migrator tests: N private redis-servers (s1..sN) with their
// endpoints, rings over them, a data set written straight onto its `from` owners, and a
// checker that looks at every server directly after a migration.
// Owns: the servers (stopped by PID on every path) and the recorded value/PTTL of each key.
// Called by: tests/unit/migration_migrator_test.cpp and migration_failure_test.cpp.
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/migration/migrator.h"
#include "routing/hash_ring.h"
#include "tests/support/net.h"
#include "tests/support/redis_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace migtest {

using Argv = std::vector<std::string>;
using testsupport::Client;
using testsupport::Reply;
using testsupport::ReplyType;
using RingPtr = std::shared_ptr<const routing::HashRing>;

inline bool redisInstalled() {
  return ::access(testsupport::redisServerBinary().c_str(), X_OK) == 0;
}

#define MIGTEST_REQUIRE_REDIS()                                    \
  do {                                                             \
    if (!migtest::redisInstalled()) {                              \
      WARN("redis-server is not installed: migration test skipped"); \
      return;                                                      \
    }                                                              \
  } while (false)

// Sends every command in one pipeline (chunked) and returns the replies in order.
inline std::vector<Reply> pipelined(Client& c, const std::vector<Argv>& cmds) {
  constexpr size_t kChunk = 1000;
  std::vector<Reply> out;
  out.reserve(cmds.size());
  for (size_t at = 0; at < cmds.size(); at += kChunk) {
    const size_t end = std::min(cmds.size(), at + kChunk);
    for (size_t i = at; i < end; ++i) c.append(cmds[i]);
    for (size_t i = at; i < end; ++i) out.push_back(c.getReply());
  }
  return out;
}

class Shards {
 public:
  explicit Shards(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      // (appending rather than "s" + to_string dodges a GCC 12 -Wrestrict false positive)
      std::string name = "s";
      name += std::to_string(i + 1);
      servers_.push_back(std::make_unique<testsupport::RedisServer>(dir_, name));
      endpoints_.push_back({name, "127.0.0.1", servers_.back()->port(), "", ""});
    }
  }

  size_t size() const { return servers_.size(); }
  testsupport::RedisServer& server(size_t i) { return *servers_.at(i); }
  const std::vector<mig::ShardEndpoint>& endpoints() const { return endpoints_; }
  const testsupport::TempDir& dir() const { return dir_; }

  // A direct connection, authenticated the way the migrator will be.
  Client client(size_t i) const {
    Client c = servers_.at(i)->client(std::chrono::milliseconds(10000));
    const mig::ShardEndpoint& ep = endpoints_.at(i);
    if (!ep.username.empty()) {
      REQUIRE(c.cmd({"AUTH", ep.username, ep.password}).isStatus("OK"));
    } else if (!ep.password.empty()) {
      REQUIRE(c.cmd({"AUTH", ep.password}).isStatus("OK"));
    }
    return c;
  }

  // requirepass (empty user) or an ACL user with the default user switched off.
  void requireAuth(size_t i, const std::string& user, const std::string& password) {
    Client c = client(i);
    if (user.empty()) {
      REQUIRE(c.cmd({"CONFIG", "SET", "requirepass", password}).isStatus("OK"));
    } else {
      REQUIRE(c.cmd({"ACL", "SETUSER", user, "on", ">" + password, "~*", "&*", "+@all"})
                  .isStatus("OK"));
      REQUIRE(c.cmd({"ACL", "SETUSER", "default", "off"}).isStatus("OK"));
    }
    endpoints_[i].username = user;
    endpoints_[i].password = password;
  }

  RingPtr ring(const std::vector<uint32_t>& weights) const {
    std::vector<routing::ShardSpec> specs;
    for (size_t i = 0; i < weights.size(); ++i) specs.push_back({endpoints_[i].name, weights[i]});
    std::string error;
    RingPtr r = routing::HashRing::build(specs, routing::RingOptions{}, &error);
    INFO(error);
    REQUIRE(r);
    return r;
  }

 private:
  testsupport::TempDir dir_;
  std::vector<std::unique_ptr<testsupport::RedisServer>> servers_;
  std::vector<mig::ShardEndpoint> endpoints_;
};

// The keys of a test, where they started, and what they looked like before the move.
struct Dataset {
  std::vector<std::string> keys;
  std::vector<std::string> values;  // canonicalValue() of each key
  std::vector<long long> pttls;
  size_t movingUnder(const routing::HashRing& from, const routing::HashRing& to) const {
    return static_cast<size_t>(std::count_if(keys.begin(), keys.end(), [&](const auto& k) {
      return from.ownerOf(k) != to.ownerOf(k);
    }));
  }
};

// Every data type, hash tags, binary and spaced key names, TTLs on one key in seven.
inline std::vector<Argv> writesFor(size_t i, std::string* key) {
  const std::string n = std::to_string(i);
  const std::string tag = "{tag" + std::to_string(i % 37) + "}";  // 37 keys share a tag
  std::vector<Argv> cmds;
  switch (i % 10) {
    case 0: *key = "str:" + n; cmds = {{"SET", *key, "value-" + n}}; break;
    case 1: *key = "hash:" + n; cmds = {{"HSET", *key, "f1", n, "f2", "x"}}; break;
    case 2: *key = "list:" + n; cmds = {{"RPUSH", *key, "a", n, "c"}}; break;
    case 3: *key = "set:" + n; cmds = {{"SADD", *key, "a", n, "c"}}; break;
    case 4: *key = "zset:" + n; cmds = {{"ZADD", *key, "1", "a", "2", n}}; break;
    case 5: *key = tag + ":s:" + n; cmds = {{"SET", *key, n}}; break;
    case 6: *key = tag + ":h:" + n; cmds = {{"HSET", *key, "f", n}}; break;
    case 7: *key = std::string("bin:\x00\xff\r\n", 8) + n; cmds = {{"SET", *key, n}}; break;
    case 8: *key = "with space " + n; cmds = {{"SET", *key, "v " + n}}; break;
    default:
      if (i % 1000 == 9) {
        *key = "stream:" + n;
        cmds = {{"XADD", *key, "*", "f", n}, {"XADD", *key, "*", "g", "2"}};
      } else {
        *key = "int:" + n;
        cmds = {{"SET", *key, n}};
      }
  }
  if (i % 7 == 0) cmds.push_back({"PEXPIRE", *key, "600000"});
  return cmds;
}

// How key #i is read back for comparison: DUMP, except sets and hashes, whose DUMP
// follows dict order and so differs between two servers holding the same value.
inline Argv readArgv(size_t i, const std::string& key) {
  if (i % 10 == 1 || i % 10 == 6) return {"HGETALL", key};
  if (i % 10 == 3) return {"SMEMBERS", key};
  return {"DUMP", key};
}

inline std::string canonicalValue(const Reply& r) {
  if (r.type != ReplyType::Array) return r.describe();
  std::vector<std::string> items;
  for (const Reply& e : r.elements) items.push_back(e.str);
  // HGETALL pairs and SMEMBERS members alike: order-independent once sorted. A field and
  // a value never collide with another pair because all our fields are short names.
  std::sort(items.begin(), items.end());
  std::string out;
  for (const std::string& item : items) out += std::to_string(item.size()) + ":" + item + ",";
  return out;
}

// Writes `count` keys straight onto their `from` owner, then records value and PTTL.
inline Dataset writeDataset(Shards& shards, const routing::HashRing& from, size_t count) {
  Dataset data;
  std::vector<std::vector<Argv>> perShard(shards.size());
  std::vector<std::vector<size_t>> indexes(shards.size());
  for (size_t i = 0; i < count; ++i) {
    std::string key;
    std::vector<Argv> cmds = writesFor(i, &key);
    const uint32_t owner = from.ownerOf(key);
    for (Argv& c : cmds) perShard[owner].push_back(std::move(c));
    indexes[owner].push_back(data.keys.size());
    data.keys.push_back(key);
  }
  data.values.resize(count);
  data.pttls.resize(count);
  for (size_t s = 0; s < shards.size(); ++s) {
    Client c = shards.client(s);
    for (const Reply& r : pipelined(c, perShard[s])) REQUIRE_FALSE(r.isError());
    std::vector<Argv> reads;
    for (size_t i : indexes[s]) {
      reads.push_back(readArgv(i, data.keys[i]));
      reads.push_back({"PTTL", data.keys[i]});
    }
    const std::vector<Reply> replies = pipelined(c, reads);
    for (size_t j = 0; j < indexes[s].size(); ++j) {
      REQUIRE_FALSE(replies[2 * j].isNil());
      REQUIRE_FALSE(replies[2 * j].isError());
      data.values[indexes[s][j]] = canonicalValue(replies[2 * j]);
      data.pttls[indexes[s][j]] = replies[2 * j + 1].integer;
    }
  }
  return data;
}

// Every key on exactly its `to` owner with the same value and a TTL no longer than before.
// Collects at most a few problems so a failure stays readable.
inline void checkPlacement(Shards& shards, const routing::HashRing& to, const Dataset& data) {
  std::vector<std::string> problems;
  std::vector<std::vector<Reply>> exists(shards.size()), reads(shards.size());
  for (size_t s = 0; s < shards.size(); ++s) {
    std::vector<Argv> probe, read;
    for (const std::string& k : data.keys) probe.push_back({"EXISTS", k});
    for (size_t i = 0; i < data.keys.size(); ++i) {
      if (to.ownerOf(data.keys[i]) != s) continue;
      read.push_back(readArgv(i, data.keys[i]));
      read.push_back({"PTTL", data.keys[i]});
    }
    Client c = shards.client(s);
    exists[s] = pipelined(c, probe);
    reads[s] = pipelined(c, read);
  }
  std::vector<size_t> at(shards.size(), 0);
  for (size_t i = 0; i < data.keys.size() && problems.size() < 10; ++i) {
    const uint32_t owner = to.ownerOf(data.keys[i]);
    for (size_t s = 0; s < shards.size(); ++s) {
      const bool want = s == owner;
      if (!exists[s][i].isInteger(want ? 1 : 0)) {
        problems.push_back("key #" + std::to_string(i) + (want ? " missing on s" : " left on s") +
                           std::to_string(s + 1));
      }
    }
    const Reply& value = reads[owner][2 * at[owner]];
    const long long pttl = reads[owner][2 * at[owner] + 1].integer;
    ++at[owner];
    if (canonicalValue(value) != data.values[i]) {
      problems.push_back("key #" + std::to_string(i) + " value differs");
    }
    const bool ttlOk = data.pttls[i] < 0 ? pttl == -1 : (pttl > 0 && pttl <= data.pttls[i]);
    if (!ttlOk) problems.push_back("key #" + std::to_string(i) + " pttl " + std::to_string(pttl));
  }
  for (const std::string& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
}

// Hooks that record what the migrator reports, safe to read from the test thread.
class Recorder {
 public:
  explicit Recorder(size_t shards) : cursors_(shards) {}

  mig::Hooks hooks() {
    mig::Hooks h;
    h.cursorSaved = [this](size_t shard, mig::SourceCursor c) {
      std::lock_guard<std::mutex> lock(mutex_);
      cursors_.at(shard) = c;
    };
    h.finished = [this](bool ok) {
      ok_ = ok;
      ++finishedCalls_;
    };
    h.log = [this](int, std::string line) {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.push_back(std::move(line));
    };
    return h;
  }

  int finishedCalls() const { return finishedCalls_.load(); }
  bool ok() const { return ok_.load(); }
  std::vector<mig::SourceCursor> cursors() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cursors_;
  }
  // Log lines (any level) containing `needle`.
  std::vector<std::string> linesWith(const std::string& needle) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const std::string& l : lines_) {
      if (l.find(needle) != std::string::npos) out.push_back(l);
    }
    return out;
  }

  // Polls (bounded) for finished(); true when it fired.
  bool waitFinished(std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    return testsupport::waitUntil([this] { return finishedCalls_.load() > 0; }, timeout);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<mig::SourceCursor> cursors_;
  std::vector<std::string> lines_;
  std::atomic<int> finishedCalls_{0};
  std::atomic<bool> ok_{false};
};

inline mig::MigrationPlan makePlan(const Shards& shards, RingPtr from, RingPtr to) {
  mig::MigrationPlan plan;
  plan.from = std::move(from);
  plan.to = std::move(to);
  plan.shards = shards.endpoints();
  return plan;
}

}  // namespace migtest
