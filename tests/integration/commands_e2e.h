// Small helpers shared by the commands_*_e2e_test.cpp files (the "full command coverage"
// suite): the suite's proxy options, exact error texts, set-like views of replies,
// direct-on-shard probes and a bounded SCAN walk.
// Owns: nothing. Called by: commands_e2e_test, commands_txn_blocking_e2e_test,
// commands_local_e2e_test, commands_pubsub_e2e_test.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/support/cluster.h"
#include "tests/support/redis_client.h"
#include "tests/support/redis_server.h"

namespace cmdtest {

using testsupport::Client;
using testsupport::Reply;
using testsupport::ReplyType;

// The suite's proxy: two worker threads (so clients of one test land on different
// workers) and no metrics listener: these tests read no metrics, and stopping ringproxy's
// civetweb listener often costs 2 s, which over 24 test cases would triple the suite's time.
inline testsupport::ProxyOptions suiteOptions() {
  testsupport::ProxyOptions opts;
  opts.threads = 2;
  opts.metrics = false;
  return opts;
}

// Redis Cluster's wording, which ringproxy uses for keys on different shards.
inline const std::string kCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot";

// The string elements of an array reply, sorted (for set-like results).
inline std::vector<std::string> sortedStrings(const Reply& r) {
  std::vector<std::string> out;
  for (const auto& e : r.elements) out.push_back(e.str);
  std::sort(out.begin(), out.end());
  return out;
}

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The integer after "<field>:" in an INFO text; -1 when absent.
inline long long infoField(const std::string& info, const std::string& field) {
  const size_t at = info.find("\r\n" + field + ":");
  if (at == std::string::npos) return -1;
  return std::atoll(info.c_str() + at + 3 + field.size());
}

// Clients blocked in a blocking command on this shard right now (asked directly).
inline long long blockedClients(const testsupport::RedisServer& shard) {
  Reply info = shard.client(std::chrono::milliseconds(2000)).cmd({"INFO", "clients"});
  return info.type == ReplyType::String ? infoField(info.str, "blocked_clients") : -1;
}

// Each key must live on exactly the shard the in-test ring names (asked on every shard).
inline void requirePlacement(const testsupport::ShardedCluster& cluster,
                             const std::vector<std::string>& keys) {
  auto problems = cluster.checkPlacement(keys);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
}

// DBSIZE asked directly on one shard (-1 on a bad reply).
inline long long shardDbsize(const testsupport::RedisServer& shard) {
  Reply r = shard.client().cmd({"DBSIZE"});
  return r.type == ReplyType::Integer ? r.integer : -1;
}

// A full SCAN through the proxy: `extra` is appended after the cursor (COUNT, MATCH,
// TYPE...). Returns how often each key came back; `error` is set (and the walk stops) on a
// malformed reply or after `maxCalls` calls without the cursor returning to 0.
inline std::map<std::string, int> scanAll(Client& c, const std::vector<std::string>& extra,
                                          std::string& error, size_t maxCalls = 5000) {
  std::map<std::string, int> seen;
  std::string cursor = "0";
  for (size_t calls = 0; calls < maxCalls; ++calls) {
    std::vector<std::string> cmd{"SCAN", cursor};
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    Reply r = c.cmd(cmd);
    if (r.type != ReplyType::Array || r.elements.size() != 2 ||
        r.elements[0].type != ReplyType::String || r.elements[1].type != ReplyType::Array) {
      error = "SCAN " + cursor + " replied " + r.describe();
      return seen;
    }
    for (const auto& k : r.elements[1].elements) ++seen[k.str];
    cursor = r.elements[0].str;
    if (cursor == "0") return seen;
  }
  error = "SCAN did not finish within " + std::to_string(maxCalls) + " calls";
  return seen;
}

// Keys seen other than exactly once, or missing, or unexpected: one line each (at most
// 20), for INFO before a CHECK.
inline std::vector<std::string> exactlyOnceProblems(const std::map<std::string, int>& seen,
                                                    const std::vector<std::string>& expected) {
  std::vector<std::string> problems;
  std::map<std::string, int> want;
  for (const auto& k : expected) want[k] = 1;
  for (const auto& [k, n] : seen) {
    if (want.count(k) == 0) problems.push_back("unexpected key '" + k + "'");
    else if (n != 1) problems.push_back("key '" + k + "' seen " + std::to_string(n) + " times");
  }
  for (const auto& [k, n] : want) {
    if (seen.count(k) == 0) problems.push_back("key '" + k + "' never returned");
  }
  if (problems.size() > 20) problems.resize(20);
  return problems;
}

// Sends `cmds` pipelined and returns how many replies differed from `expected` (the first
// few are reported through UNSCOPED_INFO).
inline size_t pipelineExpect(Client& c, const std::vector<std::vector<std::string>>& cmds,
                             const Reply& expected) {
  for (const auto& cmd : cmds) c.append(cmd);
  size_t bad = 0;
  for (size_t i = 0; i < cmds.size(); ++i) {
    Reply r = c.getReply();
    if (r == expected) continue;
    if (++bad <= 5) UNSCOPED_INFO("reply #" << i << " to " << cmds[i][0] << ": " << r);
    if (r.type == ReplyType::IoError) return bad + (cmds.size() - i - 1);
  }
  return bad;
}

}  // namespace cmdtest
