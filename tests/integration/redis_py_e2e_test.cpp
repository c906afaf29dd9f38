// redis-py against ringproxy on three shards: runs tests/integration/redis_py_smoke.py with
// Debian's /usr/bin/python3 (python3-redis), passing the proxy's port. The script performs
// redis-py's connection handshake, pipelines, transactions, multi-key commands, scan_iter,
// scripts and pub/sub, and exits non-zero naming every check that failed; its output is
// shown here on failure.
// Owns: nothing shared (its own ShardedCluster on free ports).
// Run by: ctest as "e2e: redis-py: ...".
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/support/cluster.h"
#include "tests/support/process.h"

#ifndef RP_SOURCE_DIR
#error "RP_SOURCE_DIR must be defined"
#endif

using namespace testsupport;
using namespace std::chrono_literals;

namespace {
// Not the `python3` on PATH: that may be a pyenv interpreter without the redis module.
constexpr const char* kPython = "/usr/bin/python3";
}  // namespace

TEST_CASE("redis-py: a Python application's usual commands work through the proxy",
          "[redis-py]") {
  REQUIRE(::access(kPython, X_OK) == 0);
  ProxyOptions opts;
  opts.threads = 2;
  opts.metrics = false;  // nothing here reads metrics; see suiteOptions() in commands_e2e.h
  ShardedCluster cluster(opts);
  const std::string script = std::string(RP_SOURCE_DIR) + "/tests/integration/redis_py_smoke.py";
  RunResult run = runToCompletion({kPython, script, std::to_string(cluster.proxy().port())},
                                  cluster.dir().file("redis-py.log"), 30000ms);
  INFO("redis_py_smoke.py output:\n" << run.output);
  CHECK_FALSE(run.timedOut);
  CHECK(run.exitCode == 0);
  CHECK(run.output.find("PUBSUB FAILED") == std::string::npos);
  CHECK(run.output.find("ALL OK") != std::string::npos);
}
