// The migration state file (proxy/migration/migration_state.h): exact round trip (names
// with spaces and odd bytes included), atomic replacement, and rejection of truncated,
// corrupt or foreign files with a reason. Run by ctest as "migration: ...".
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "proxy/migration/migration_state.h"
#include "routing/hash_fn.h"
#include "tests/support/temp_dir.h"

namespace {

mig::MigrationState sample() {
  mig::MigrationState s;
  s.epoch = 42;
  s.options.distribution = routing::Distribution::Ketama;
  s.options.hash = routing::HashKind::Murmur;
  s.options.hashTag = "{}";
  s.options.vnodesPerWeight = 160;
  s.fromShards = {{"s1", 1}, {"shard two", 3}, {"100%\"odd\"\n\x01", 1}, {"new", 0}};
  s.toShards = {{"s1", 1}, {"shard two", 3}, {"100%\"odd\"\n\x01", 0}, {"new", 2}};
  s.addresses = {{"s1", "127.0.0.1:7001"},
                 {"shard two", "cache-2.example:7002"},
                 {"100%\"odd\"\n\x01", "[::1]:7003"},
                 {"new", "10.0.0.9:7004"}};
  s.cursors = {{0, 1}, {123456789012345ULL, 2}, {18446744073709551615ULL, 7}, {5, 1}};
  s.fromDigest = "0123456789abcdef";
  s.toDigest = "fedcba9876543210";
  return s;
}

void requireEqual(const mig::MigrationState& a, const mig::MigrationState& b) {
  CHECK(a.epoch == b.epoch);
  CHECK(a.options.distribution == b.options.distribution);
  CHECK(a.options.hash == b.options.hash);
  CHECK(a.options.hashTag == b.options.hashTag);
  CHECK(a.options.vnodesPerWeight == b.options.vnodesPerWeight);
  REQUIRE(a.fromShards.size() == b.fromShards.size());
  REQUIRE(a.toShards.size() == b.toShards.size());
  for (size_t i = 0; i < a.fromShards.size(); ++i) {
    CHECK(a.fromShards[i].name == b.fromShards[i].name);
    CHECK(a.fromShards[i].weight == b.fromShards[i].weight);
    CHECK(a.toShards[i].name == b.toShards[i].name);
    CHECK(a.toShards[i].weight == b.toShards[i].weight);
  }
  CHECK(a.addresses == b.addresses);
  REQUIRE(a.cursors.size() == b.cursors.size());
  for (size_t i = 0; i < a.cursors.size(); ++i) {
    CHECK(a.cursors[i].cursor == b.cursors[i].cursor);
    CHECK(a.cursors[i].pass == b.cursors[i].pass);
  }
  CHECK(a.fromDigest == b.fromDigest);
  CHECK(a.toDigest == b.toDigest);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("state file round-trips every field", "[state]") {
  testsupport::TempDir dir;
  const std::string path = dir.file("migration.state");
  std::string error;
  REQUIRE(mig::saveState(path, sample(), &error));
  CHECK(error.empty());
  CHECK_FALSE(exists(path + ".tmp"));

  auto loaded = mig::loadState(path, &error);
  INFO(error);
  REQUIRE(loaded);
  requireEqual(*loaded, sample());

  // Human-readable: a shard name with a space is one quoted, escaped token.
  const std::string text = testsupport::readFile(path);
  CHECK(text.rfind("ringproxy-migration-state 1\n", 0) == 0);
  CHECK(text.find("shard \"shard%20two\" 3\n") != std::string::npos);
  CHECK(text.find("distribution ketama\n") != std::string::npos);
  CHECK(text.find("hash murmur\n") != std::string::npos);
}

TEST_CASE("saving again replaces the file atomically", "[state]") {
  testsupport::TempDir dir;
  const std::string path = dir.file("migration.state");
  std::string error;
  mig::MigrationState s = sample();
  REQUIRE(mig::saveState(path, s, &error));
  s.cursors[1] = {999, 3};
  s.epoch = 43;
  REQUIRE(mig::saveState(path, s, &error));
  auto loaded = mig::loadState(path, &error);
  REQUIRE(loaded);
  CHECK(loaded->epoch == 43);
  CHECK(loaded->cursors[1].cursor == 999);
  CHECK(loaded->cursors[1].pass == 3);
}

TEST_CASE("a missing file is nullopt with no error", "[state]") {
  testsupport::TempDir dir;
  std::string error = "stale";
  CHECK_FALSE(mig::loadState(dir.file("nope.state"), &error));
  CHECK(error.empty());
  mig::removeState(dir.file("nope.state"));  // no file: no complaint
}

TEST_CASE("removeState deletes the file", "[state]") {
  testsupport::TempDir dir;
  const std::string path = dir.file("migration.state");
  std::string error;
  REQUIRE(mig::saveState(path, sample(), &error));
  mig::removeState(path);
  CHECK_FALSE(exists(path));
  CHECK_FALSE(mig::loadState(path, &error));
  CHECK(error.empty());
}

TEST_CASE("a truncated file is rejected at every length", "[state]") {
  testsupport::TempDir dir;
  const std::string path = dir.file("migration.state");
  std::string error;
  REQUIRE(mig::saveState(path, sample(), &error));
  const std::string whole = testsupport::readFile(path);
  for (size_t len = 0; len < whole.size(); ++len) {
    dir.writeFile("cut.state", whole.substr(0, len));
    error.clear();
    INFO("length " << len);
    CHECK_FALSE(mig::loadState(dir.file("cut.state"), &error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("a corrupt file is rejected with a reason", "[state]") {
  testsupport::TempDir dir;
  const std::string path = dir.file("migration.state");
  std::string error;
  REQUIRE(mig::saveState(path, sample(), &error));
  const std::string whole = testsupport::readFile(path);

  SECTION("one flipped digit") {
    std::string bad = whole;
    bad[bad.find("cursor 5 1") + 7] = '6';
    dir.writeFile("bad.state", bad);
    CHECK_FALSE(mig::loadState(dir.file("bad.state"), &error));
    CHECK(error.find("checksum") != std::string::npos);
  }
  SECTION("garbage") {
    dir.writeFile("bad.state", "hello\nworld\n");
    CHECK_FALSE(mig::loadState(dir.file("bad.state"), &error));
    CHECK_FALSE(error.empty());
  }
  SECTION("a future version, even with a valid checksum") {
    std::string body = whole.substr(0, whole.find("checksum "));
    body.replace(body.find(" 1\n"), 3, " 2\n");
    // Re-sign it the way the writer does, so only the version is wrong.
    char sum[17];
    std::snprintf(sum, sizeof sum, "%016llx",
                  static_cast<unsigned long long>(routing::fnv1a64(body)));
    dir.writeFile("v2.state", body + "checksum " + sum + "\n");
    CHECK_FALSE(mig::loadState(dir.file("v2.state"), &error));
    CHECK(error.find("line 1: unsupported version 2") != std::string::npos);
  }
}

TEST_CASE("an inconsistent state is refused on save", "[state]") {
  testsupport::TempDir dir;
  std::string error;
  mig::MigrationState s = sample();
  s.cursors.pop_back();
  CHECK_FALSE(mig::saveState(dir.file("x.state"), s, &error));
  CHECK(error.find("cursors") != std::string::npos);
  s = sample();
  s.toShards[0].name = "other";
  CHECK_FALSE(mig::saveState(dir.file("x.state"), s, &error));
  CHECK_FALSE(error.empty());
}
