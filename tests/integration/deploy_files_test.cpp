// Static checks of everything under deploy/ that CI can verify without Docker, systemd or
// a cluster: alert rules (promtool check + unit tests), Prometheus configs, the systemd
// unit (systemd-analyze verify / security), compose, Grafana provisioning and Kubernetes
// files as YAML, the dashboard as JSON, the ringproxy configs inside them (--check), the
// image's runtime packages against the built binary, and the metric names the dashboard
// and alerts use. Run by ctest as "e2e: deploy: ...".
#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/deploy_tools.h"
#include "tests/support/proxy.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace deploytest;
using namespace std::chrono_literals;

namespace {

// Metric names the dashboard and alerts may use before the features exporting them land.
const std::set<std::string> kPlannedMetrics{
    "ringproxy_cache_hits_total",    "ringproxy_cache_misses_total",
    "ringproxy_cache_bytes",         "ringproxy_hot_keys",
    "ringproxy_migration_active",    "ringproxy_migration_keys_moved_total",
    "ringproxy_config_reloads_total"};

void expectClean(const RunResult& r, const std::string& what) {
  INFO(what << " said:\n" << r.output);
  CHECK_FALSE(r.timedOut);
  CHECK(r.exitCode == 0);
}

// Loads YAML files (all documents) with python3-yaml; prints "<kind> <name>" per k8s
// object and writes the ConfigMap's ringproxy.yaml to argv[1].
const char* kYamlCheck =
    "import sys, yaml\n"
    "out = sys.argv[1]\n"
    "for path in sys.argv[2:]:\n"
    "    for doc in yaml.safe_load_all(open(path)):\n"
    "        if not isinstance(doc, dict):\n"
    "            sys.exit(path + ': expected a mapping, got ' + type(doc).__name__)\n"
    "        if doc.get('kind') == 'ConfigMap':\n"
    "            open(out, 'w').write(doc['data']['ringproxy.yaml'])\n"
    "        if 'kind' in doc:\n"
    "            print(doc['kind'], doc.get('metadata', {}).get('name', ''))\n"
    "        if doc.get('kind') == 'Deployment':\n"
    "            t = doc['spec']['template']\n"
    "            c = t['spec']['containers'][0]\n"
    "            print('probes', 'readinessProbe' in c, 'livenessProbe' in c)\n"
    "            print('scrape', t['metadata']['annotations'].get('prometheus.io/scrape'))\n"
    "        if 'services' in doc:\n"
    "            print('services', ' '.join(sorted(doc['services'])))\n";

// Every ringproxy_* name in `text`.
std::set<std::string> metricNamesIn(const std::string& text) {
  std::set<std::string> names;
  static const std::regex kName("ringproxy_[a-z0-9_]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

// Known as is, or as a histogram's _bucket/_sum/_count series.
bool isKnown(const std::set<std::string>& known, const std::string& name) {
  if (known.count(name)) return true;
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        known.count(name.substr(0, name.size() - suffix.size()))) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("deploy: alert rules pass promtool check and their unit tests", "[deploy]") {
  std::optional<std::string> promtool = findTool("promtool");
  if (!promtool) DEPLOY_SKIP("promtool not found (scripts/install-deps.sh installs prometheus)");
  TempDir dir;
  const std::string p = shellQuote(*promtool) + " ";
  expectClean(
      runShell(dir, p + "check rules " + shellQuote(sourcePath("deploy/prometheus/alerts.yml"))),
      "promtool check rules");
  RunResult tests = runShell(
      dir, p + "test rules " + shellQuote(sourcePath("deploy/prometheus/alerts_test.yml")));
  expectClean(tests, "promtool test rules");
  CHECK(contains(tests.output, "SUCCESS"));
  expectClean(runShell(dir, p + "check config " +
                                shellQuote(sourcePath("deploy/prometheus/prometheus.yml"))),
              "promtool check config (host)");
  // The compose config names container paths; only its syntax is checkable here.
  expectClean(runShell(dir, p + "check config --syntax-only " +
                                shellQuote(sourcePath("deploy/docker/prometheus.yml"))),
              "promtool check config (compose)");
}

TEST_CASE("deploy: the systemd unit passes systemd-analyze", "[deploy]") {
  const std::string unit = readFile(sourcePath("deploy/systemd/ringproxy.service"));
  for (const char* line :
       {"ExecStart=/usr/local/bin/ringproxy --config /etc/ringproxy/ringproxy.yaml\n",
        "ExecReload=/bin/kill -HUP $MAINPID\n", "Restart=on-failure\n", "LimitNOFILE=65536\n",
        "NoNewPrivileges=yes\n", "ProtectSystem=strict\n", "ProtectHome=yes\n", "PrivateTmp=yes\n",
        "DynamicUser=yes\n"}) {
    CHECK(contains(unit, line));
  }
  std::optional<std::string> analyze = findTool("systemd-analyze");
  if (!analyze) DEPLOY_SKIP("systemd-analyze not found; the unit was only checked as text");
  TempDir dir;
  // verify insists that ExecStart's binary exists: point it at the one under test.
  std::string local = unit;
  size_t at = 0;
  while ((at = local.find("/usr/local/bin/ringproxy", at)) != std::string::npos) {
    local.replace(at, 24, ringproxyBinary());
    at += ringproxyBinary().size();
  }
  const std::string path = dir.writeFile("ringproxy.service", local);
  RunResult verify = runShell(dir, shellQuote(*analyze) + " verify " + shellQuote(path));
  expectClean(verify, "systemd-analyze verify");
  CHECK(verify.output.empty());  // unknown keys are only warnings, with exit code 0
  // Exposure on systemd's 0..10 scale; --threshold takes tenths. Shipped: 1.4.
  expectClean(runShell(dir, shellQuote(*analyze) + " security --offline=true --threshold=20 " +
                                shellQuote(path) + " > /dev/null"),
              "systemd-analyze security (exposure must stay <= 2.0)");
}

// Also runs ringproxy --check on the configs inside them.
TEST_CASE("deploy: compose, Grafana and Kubernetes files parse", "[deploy]") {
  TempDir dir;
  std::optional<std::string> python = findTool("python3");
  if (!python) DEPLOY_SKIP("python3 not found");
  RunResult json = runShell(
      dir, shellQuote(*python) + " -m json.tool " +
               shellQuote(sourcePath("deploy/grafana/ringproxy-dashboard.json")) + " > /dev/null");
  expectClean(json, "python3 -m json.tool on the dashboard");

  RunResult hasYaml = runShell(dir, shellQuote(*python) + " -c 'import yaml'");
  if (hasYaml.exitCode != 0) DEPLOY_SKIP("python3-yaml missing: YAML files not parsed");
  std::string files;
  for (const char* f :
       {"deploy/docker/compose.yaml", "deploy/grafana/provisioning/datasources/prometheus.yaml",
        "deploy/grafana/provisioning/dashboards/ringproxy.yaml", "deploy/kubernetes/configmap.yaml",
        "deploy/kubernetes/deployment.yaml", "deploy/kubernetes/service.yaml",
        "deploy/kubernetes/kustomization.yaml"}) {
    files += cat(" ", shellQuote(sourcePath(f)));
  }
  const std::string embedded = dir.file("k8s-ringproxy.yaml");
  RunResult parsed = runShell(dir, shellQuote(*python) + " -c " + shellQuote(kYamlCheck) + " " +
                                       shellQuote(embedded) + files);
  expectClean(parsed, "YAML parse");
  INFO(parsed.output);
  CHECK(contains(parsed.output, "services grafana prometheus redis1 redis2 redis3 ringproxy\n"));
  CHECK(contains(parsed.output, "ConfigMap ringproxy-config\n"));
  CHECK(contains(parsed.output, "Deployment ringproxy\n"));
  CHECK(contains(parsed.output, "Service ringproxy\n"));
  CHECK(contains(parsed.output, "probes True True\n"));
  CHECK(contains(parsed.output, "scrape true\n"));

  for (const std::string& config : {sourcePath("deploy/docker/ringproxy.yaml"), embedded}) {
    RunResult check =
        runToCompletion({ringproxyBinary(), "--check", config}, dir.file("check.log"), 10s);
    expectClean(check, "ringproxy --check " + config);
  }
}

TEST_CASE("deploy: the image's runtime packages cover every library ringproxy links", "[deploy]") {
  TempDir dir;
  if (!findTool("dpkg") || !findTool("ldd")) DEPLOY_SKIP("dpkg or ldd not found");
  // libc6, libgcc-s1, libstdc++6 and zlib1g come with debian:12-slim (apt and dpkg
  // need them). Sanitizer runtimes (libasan, libubsan, libtsan, liblsan) are skipped: they
  // are linked only by scripts/test.sh --asan/--tsan builds, never by the image's release
  // build, so under a sanitizer they would otherwise be reported as missing packages.
  const std::string listPath = dir.file("packages.txt");
  RunResult r = runShell(
      dir, "ldd " + shellQuote(ringproxyBinary()) +
               " | awk '/=>/ && $1 !~ /^lib(asan|ubsan|tsan|lsan)[.]/ {print $3}'"
               " | while read -r lib; do "
               "dpkg -S \"$(readlink -f \"$lib\")\" 2>/dev/null || dpkg -S \"$lib\" 2>/dev/null; "
               "done | cut -d: -f1 | sort -u "
               "| grep -v -x -e libc6 -e libgcc-s1 -e libstdc++6 -e zlib1g > " +
               shellQuote(listPath));
  expectClean(r, "ldd | dpkg -S");
  const std::string dockerfile = readFile(sourcePath("deploy/docker/Dockerfile"));
  for (const char* part : {"FROM debian:12 AS build", "RUN scripts/install-deps.sh",
                           "scripts/build.sh ringproxy", "FROM debian:12-slim", "USER 10001"}) {
    CHECK(contains(dockerfile, part));
  }
  const std::string marker = "ARG RUNTIME_PACKAGES=\"";
  const size_t begin = dockerfile.find(marker);
  REQUIRE(begin != std::string::npos);
  const size_t end = dockerfile.find('"', begin + marker.size());
  std::set<std::string> listed;
  std::stringstream words(dockerfile.substr(begin + marker.size(), end - begin - marker.size()));
  for (std::string w; words >> w;) listed.insert(w);
  std::stringstream ss(readFile(listPath));
  int count = 0;
  for (std::string pkg; std::getline(ss, pkg);) {
    ++count;
    INFO("ringproxy links a library from " << pkg
                                           << "; add it to RUNTIME_PACKAGES in the Dockerfile");
    CHECK(listed.count(pkg) == 1);
  }
  CHECK(count > 0);
}

TEST_CASE("deploy: dashboard and alerts use only exported or planned metric names", "[deploy]") {
  TempDir dir;
  RunResult table =
      runShell(dir, "/usr/bin/python3 " + shellQuote(sourcePath("scripts/gen_metrics_table.py")));
  REQUIRE(table.exitCode == 0);
  std::set<std::string> known(kPlannedMetrics);
  for (const std::string& name : catalogueNames(table.output)) known.insert(name);

  const std::string dashboard = readFile(sourcePath("deploy/grafana/ringproxy-dashboard.json"));
  const std::string alerts = readFile(sourcePath("deploy/prometheus/alerts.yml"));
  for (const auto& [file, text] : {std::pair{"dashboard", dashboard}, {"alerts.yml", alerts}}) {
    for (const std::string& name : metricNamesIn(text)) {
      INFO(file << " uses " << name);
      CHECK(isKnown(known, name));
    }
  }
  // The required panels: each metric appears in the dashboard.
  for (const char* name :
       {"ringproxy_requests_total", "ringproxy_request_duration_seconds_bucket",
        "ringproxy_backend_errors_total", "ringproxy_backend_connections_up",
        "ringproxy_client_connections", "ringproxy_protocol_errors_total",
        "ringproxy_cache_hits_total", "ringproxy_cache_misses_total", "ringproxy_cache_bytes",
        "ringproxy_hot_keys", "ringproxy_migration_active", "ringproxy_migration_keys_moved_total",
        "ringproxy_config_reloads_total"}) {
    INFO("dashboard lacks " << name);
    CHECK(contains(dashboard, name));
  }
}
