// Tests of backend.auto_eject (twemproxy's auto_eject_hosts): defaults, every field read,
// the ends of each range, path-qualified errors beyond them, the settings it cannot go
// with (cluster.enabled, backend.tls), the example file, and what a reload does with it.
// Run by ctest as "config: auto_eject ...".
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/config_diff.h"
#include "config/config_loader.h"

namespace {

const std::string kShards =
    "shards:\n"
    "  - {name: s1, address: 127.0.0.1:7001}\n"
    "  - {name: s2, address: 127.0.0.1:7002}\n";
const std::string kNoCluster = "cluster: {enabled: false}\n";

using Errors = std::vector<std::string>;

Errors errorsOf(const std::string& text) {
  const config::LoadResult result = config::loadConfigText(text);
  Errors out;
  for (const config::ConfigError& e : result.errors) out.push_back(e.str());
  CHECK(result.config.has_value() == out.empty());
  return out;
}

config::ProxyConfig mustLoad(const std::string& text) {
  config::LoadResult result = config::loadConfigText(text);
  for (const config::ConfigError& e : result.errors) UNSCOPED_INFO(e.str());
  REQUIRE(result.config.has_value());
  return *result.config;
}

// The errors of a file with `fields` under backend.auto_eject (cluster off, so only the
// fields themselves can be wrong).
Errors ejectErrors(const std::string& fields) {
  return errorsOf("backend:\n  auto_eject: {" + fields + "}\n" + kNoCluster + kShards);
}

void checkEject(const config::AutoEjectConfig& got, const config::AutoEjectConfig& want) {
  CHECK(got.enabled == want.enabled);
  CHECK(got.failureLimit == want.failureLimit);
  CHECK(got.retryMs == want.retryMs);
  CHECK(got.probeIntervalMs == want.probeIntervalMs);
}

}  // namespace

TEST_CASE("auto_eject: off by default, with twemproxy's default limits", "[config][eject]") {
  checkEject(mustLoad(kShards).backend.autoEject, {false, 2, 30000, 500});
  checkEject(mustLoad("backend:\n  auto_eject:\n" + kShards).backend.autoEject, {false, 2, 30000, 500});
  const config::ProxyConfig defaults;
  checkEject(defaults.backend.autoEject, {false, 2, 30000, 500});
}

TEST_CASE("auto_eject: every field is read", "[config][eject]") {
  const config::ProxyConfig cfg = mustLoad(
      "backend:\n"
      "  timeout_ms: 300\n"
      "  auto_eject:\n"
      "    enabled: true\n"
      "    failure_limit: 3\n"
      "    retry_ms: 1500\n"
      "    probe_interval_ms: 100\n" +
      kNoCluster + kShards);
  checkEject(cfg.backend.autoEject, {true, 3, 1500, 100});
  CHECK(cfg.backend.timeoutMs == 300);  // the rest of backend is read as before
}

TEST_CASE("auto_eject: the ends of each range are accepted", "[config][eject]") {
  checkEject(mustLoad("backend: {auto_eject: {failure_limit: 1, retry_ms: 100, probe_interval_ms: 50}}\n" +
                      kShards)
                 .backend.autoEject,
             {false, 1, 100, 50});
  checkEject(mustLoad("backend: {auto_eject: {failure_limit: 100, retry_ms: 3600000, "
                      "probe_interval_ms: 60000}}\n" +
                      kShards)
                 .backend.autoEject,
             {false, 100, 3600000, 60000});
}

TEST_CASE("auto_eject: fields out of range or of the wrong type", "[config][eject]") {
  CHECK(ejectErrors("failure_limit: 0") == Errors{"backend.auto_eject.failure_limit: must be >= 1"});
  CHECK(ejectErrors("failure_limit: 101") == Errors{"backend.auto_eject.failure_limit: must be <= 100"});
  CHECK(ejectErrors("failure_limit: two") == Errors{"backend.auto_eject.failure_limit: expected an integer"});
  CHECK(ejectErrors("retry_ms: 99") == Errors{"backend.auto_eject.retry_ms: must be >= 100"});
  CHECK(ejectErrors("retry_ms: 3600001") == Errors{"backend.auto_eject.retry_ms: must be <= 3600000"});
  CHECK(ejectErrors("probe_interval_ms: 49") == Errors{"backend.auto_eject.probe_interval_ms: must be >= 50"});
  CHECK(ejectErrors("probe_interval_ms: 60001") ==
        Errors{"backend.auto_eject.probe_interval_ms: must be <= 60000"});
  CHECK(ejectErrors("probe_interval_ms: 1.5") ==
        Errors{"backend.auto_eject.probe_interval_ms: expected an integer"});
  CHECK(ejectErrors("enabled: sometimes") == Errors{"backend.auto_eject.enabled: expected true or false"});
  CHECK(ejectErrors("retries: 3") == Errors{"backend.auto_eject.retries: unknown key"});
  CHECK(errorsOf("backend: {auto_eject: true}\n" + kShards) == Errors{"backend.auto_eject: expected a mapping"});
  // Every problem at once, in file order.
  CHECK(ejectErrors("failure_limit: 0, retry_ms: 1, probe_interval_ms: 0") ==
        Errors{"backend.auto_eject.failure_limit: must be >= 1", "backend.auto_eject.retry_ms: must be >= 100",
               "backend.auto_eject.probe_interval_ms: must be >= 50"});
}

TEST_CASE("auto_eject: needs cluster.enabled false and plain shard connections", "[config][eject]") {
  const std::string cluster =
      "backend.auto_eject.enabled: needs cluster.enabled: false (each proxy instance ejects shards on "
      "its own, so several instances would route an ejected shard's keys differently)";
  const std::string tls =
      "backend.auto_eject.enabled: cannot be used with backend.tls (the probes use hiredis 0.14, which "
      "has no TLS)";
  // cluster.enabled is true by default.
  CHECK(errorsOf("backend: {auto_eject: {enabled: true}}\n" + kShards) == Errors{cluster});
  CHECK(errorsOf("backend: {auto_eject: {enabled: true}}\ncluster: {enabled: true}\n" + kShards) == Errors{cluster});
  CHECK(errorsOf("backend: {auto_eject: {enabled: true}, tls: {enabled: true}}\n" + kNoCluster + kShards) ==
        Errors{tls});
  CHECK(errorsOf("backend: {auto_eject: {enabled: true}, tls: {enabled: true}}\n" + kShards) ==
        Errors{cluster, tls});
  // Off, it goes with anything.
  CHECK(errorsOf("backend: {auto_eject: {enabled: false}, tls: {enabled: true}}\n" + kShards).empty());
  CHECK(mustLoad("backend: {auto_eject: {enabled: true}}\n" + kNoCluster + kShards).backend.autoEject.enabled);
}

TEST_CASE("auto_eject: the example file states the defaults", "[config][eject]") {
  config::LoadResult example = config::loadConfigFile(std::string(RP_SOURCE_DIR) + "/deploy/ringproxy.yaml");
  REQUIRE(example.config.has_value());
  checkEject(example.config->backend.autoEject, config::ProxyConfig{}.backend.autoEject);
}

TEST_CASE("auto_eject: a reload applies it live, but not beside a running membership", "[config][eject]") {
  const std::string on = "backend:\n  auto_eject: {enabled: true, retry_ms: 2000}\n";
  const config::ProxyConfig single = mustLoad(kNoCluster + kShards);
  config::ReloadPlan plan = config::planReload(single, mustLoad(on + kNoCluster + kShards));
  CHECK(plan.notes.empty());
  CHECK(plan.effective.backend.autoEject.enabled);
  CHECK(plan.effective.backend.autoEject.retryMs == 2000);
  // Off again: applied too.
  plan = config::planReload(plan.effective, mustLoad(kNoCluster + kShards));
  CHECK(plan.notes.empty());
  CHECK_FALSE(plan.effective.backend.autoEject.enabled);

  // Running with the membership (the default): the file turns it off and auto_eject on,
  // but cluster needs a restart, so auto_eject stays off until then.
  const config::ProxyConfig clustered = mustLoad(kShards);
  plan = config::planReload(clustered, mustLoad(on + kNoCluster + kShards));
  CHECK(plan.effective.cluster.enabled);
  CHECK_FALSE(plan.effective.backend.autoEject.enabled);
  CHECK(plan.effective.backend.autoEject.retryMs == 2000);
  REQUIRE(plan.notes.size() == 2);
  CHECK(plan.notes[0] == "cluster: changed; needs a restart");
  CHECK(plan.notes[1] ==
        "backend.auto_eject: needs cluster.enabled: false, which applies only after a restart; auto_eject "
        "stays off");
}
