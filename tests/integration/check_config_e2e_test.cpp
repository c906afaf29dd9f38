// `ringproxy --check <file>`: exit 0 for the shipped deploy/ringproxy.yaml and for a
// generated good file; non-zero with one "path: message" line per problem for bad files.
// Also: `--config` with a bad file refuses to start. Run by ctest as "e2e: check: ...".
#include <catch2/catch.hpp>
#include <string>

#include "tests/support/process.h"
#include "tests/support/proxy.h"
#include "tests/support/temp_dir.h"

using namespace testsupport;
using namespace std::chrono_literals;

#ifndef RP_SOURCE_DIR
#error "RP_SOURCE_DIR must be defined"
#endif

namespace {

RunResult check(const TempDir& dir, const std::string& file, const std::string& mode = "--check") {
  return runToCompletion({ringproxyBinary(), mode, file}, dir.file("check.log"), 10000ms);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const char* kGoodHead =
    "listen: 127.0.0.1:6390\n"
    "threads: 2\n"
    "ring:\n"
    "  distribution: ketama\n"
    "  hash: murmur\n"
    "  hash_tag: \"{}\"\n";

}  // namespace

TEST_CASE("check: the shipped deploy/ringproxy.yaml is valid", "[check]") {
  TempDir dir;
  RunResult r = check(dir, std::string(RP_SOURCE_DIR) + "/deploy/ringproxy.yaml");
  INFO("output:\n" << r.output);
  CHECK_FALSE(r.timedOut);
  CHECK(r.exitCode == 0);
}

TEST_CASE("check: a generated harness config is valid", "[check]") {
  TempDir dir;
  ProxyOptions opts;
  opts.shards = {{"s1", "127.0.0.1:7001", 1}, {"s2", "127.0.0.1:7002", 2}};
  std::string file = dir.writeFile("good.yaml", renderProxyYaml(opts, 6390, 9191));
  RunResult r = check(dir, file);
  INFO("output:\n" << r.output);
  CHECK(r.exitCode == 0);
}

TEST_CASE("check: every problem of a bad file is reported with its path", "[check]") {
  TempDir dir;
  std::string file = dir.writeFile("bad.yaml", std::string(kGoodHead) +
                                                   "backend:\n"
                                                   "  frobnicate: 3\n"
                                                   "shards:\n"
                                                   "  - name: s1\n"
                                                   "    address: 127.0.0.1:7001\n"
                                                   "  - name: s2\n"
                                                   "    address: nothere\n"
                                                   "  - name: s3\n"
                                                   "    address: 127.0.0.1:7003\n"
                                                   "    weight: -1\n");
  RunResult r = check(dir, file);
  INFO("output:\n" << r.output);
  CHECK_FALSE(r.timedOut);
  CHECK(r.exitCode != 0);
  CHECK(contains(r.output, "shards[1].address:"));
  CHECK(contains(r.output, "backend.frobnicate"));
  CHECK(contains(r.output, "shards[2].weight"));
}

TEST_CASE("check: each kind of error alone fails the check", "[check]") {
  struct Case {
    const char* body;
    const char* path;
  };
  const Case c = GENERATE(
      Case{"shards:\n  - name: s1\n    address: nothere\n", "shards[0].address:"},
      Case{"bogus_top: 1\nshards:\n  - name: s1\n    address: 127.0.0.1:7001\n", "bogus_top"},
      Case{"shards:\n  - name: s1\n    address: 127.0.0.1:7001\n    weight: -1\n",
           "shards[0].weight"},
      Case{"shards:\n  - name: s1\n    address: 127.0.0.1:7001\n    colour: red\n",
           "shards[0].colour"});
  TempDir dir;
  std::string file = dir.writeFile("one.yaml", std::string(kGoodHead) + c.body);
  RunResult r = check(dir, file);
  INFO("file:\n" << readFile(file) << "\noutput:\n" << r.output);
  CHECK(r.exitCode != 0);
  CHECK(contains(r.output, c.path));
}

TEST_CASE("check: a missing file fails the check", "[check]") {
  TempDir dir;
  RunResult r = check(dir, dir.file("does-not-exist.yaml"));
  INFO("output:\n" << r.output);
  CHECK(r.exitCode != 0);
  CHECK_FALSE(r.output.empty());
}

TEST_CASE("check: --config with a bad file refuses to start", "[check]") {
  TempDir dir;
  std::string file = dir.writeFile(
      "bad.yaml", std::string(kGoodHead) + "shards:\n  - name: s1\n    address: nothere\n");
  RunResult r = check(dir, file, "--config");
  INFO("output:\n" << r.output);
  CHECK_FALSE(r.timedOut);
  CHECK(r.exitCode != 0);
  CHECK(contains(r.output, "shards[0].address:"));
}
