// A real scrape: Prometheus (the shipped deploy/prometheus/prometheus.yml, with a 1 s
// interval, its own port and this proxy's metrics port) scrapes a real ringproxy over 3
// redis-server shards. The test waits (bounded) until ringproxy_requests_total is
// queryable, then checks that the alert rules loaded and that every dashboard query is
// valid PromQL against the live server. Prometheus is stopped by PID (Process).
// Run by ctest as "e2e: deploy: prometheus ...".
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/deploy_tools.h"
#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace deploytest;
using namespace std::chrono_literals;

namespace {

constexpr auto kScrapeWait = 30s;

// deploy/prometheus/prometheus.yml, pointed at this test's proxy and sped up.
std::string renderPrometheusConfig(uint16_t metricsPort) {
  std::string text = readFile(sourcePath("deploy/prometheus/prometheus.yml"));
  REQUIRE_FALSE(text.empty());
  INFO("deploy/prometheus/prometheus.yml changed shape; update this test's substitutions");
  REQUIRE(replaceOnce(text, "scrape_interval: 15s", "scrape_interval: 1s"));
  REQUIRE(replaceOnce(text, "evaluation_interval: 15s", "evaluation_interval: 1s"));
  REQUIRE(replaceOnce(text, "- 127.0.0.1:9121", cat("- 127.0.0.1:", metricsPort)));
  REQUIRE(replaceOnce(text, "- alerts.yml", "- " + sourcePath("deploy/prometheus/alerts.yml")));
  return text;
}

class PrometheusServer {
 public:
  PrometheusServer(const TempDir& dir, const std::string& binary, const std::string& config) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = pickFreePort();
      process_ = std::make_unique<Process>(
          std::vector<std::string>{binary, "--config.file=" + config,
                                   "--storage.tsdb.path=" + dir.subdir(cat("tsdb", attempt)),
                                   cat("--web.listen-address=127.0.0.1:", port_),
                                   "--log.level=warn"},
          dir.file("prometheus.log"), /*dumpOnFailure=*/true);
      const bool ready = waitUntil(
          [&] { return !process_->running() || httpGet10(port_, "/-/ready").status == 200; }, 20s,
          100ms);
      if (ready && process_->running()) return;
      if (process_->running()) break;  // alive but never ready: a new port will not help
    }
    FAIL("prometheus did not become ready; log tail:\n" << process_->logTail(40));
  }

  // GET /api/v1/query?query=<expr>; the JSON body.
  std::string query(const std::string& expr) const {
    return httpGet10(port_, "/api/v1/query?query=" + urlEncode(expr)).body;
  }
  std::string get(const std::string& path) const { return httpGet10(port_, path).body; }

 private:
  uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

// The dashboard's PromQL with Grafana's variables given concrete values.
std::vector<std::string> dashboardQueries(const TempDir& dir) {
  const std::string script =
      "import json,sys\n"
      "d=json.load(open(sys.argv[1]))\n"
      "for p in d['panels']:\n"
      "  for t in p.get('targets',[]):\n"
      "    e=t['expr']\n"
      "    for a,b in (('$__rate_interval','1m'),('$__interval','1m'),('$__range','5m'),\n"
      "                ('$job','.*'),('$instance','.*')): e=e.replace(a,b)\n"
      "    print(' '.join(e.split()))\n";
  const std::string scriptPath = dir.writeFile("queries.py", script);
  const std::string outPath = dir.file("queries.txt");
  RunResult r =
      runShell(dir, "/usr/bin/python3 " + shellQuote(scriptPath) + " " +
                        shellQuote(sourcePath("deploy/grafana/ringproxy-dashboard.json")) + " > " +
                        shellQuote(outPath));
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  std::vector<std::string> queries;
  std::stringstream ss(readFile(outPath));
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty()) queries.push_back(line);
  }
  return queries;
}

void sendSome(Client& c, int round) {
  for (int i = 0; i < 50; ++i) c.append({"SET", cat("prom:", round, ":", i), "v"});
  for (int i = 0; i < 50; ++i) c.getReply();
}

}  // namespace

TEST_CASE("deploy: prometheus scrapes ringproxy with the shipped config", "[deploy]") {
  std::optional<std::string> prometheus = findTool("prometheus");
  if (!prometheus) DEPLOY_SKIP("prometheus not found (scripts/install-deps.sh installs it)");
  ShardedCluster cluster;
  Client client = cluster.client();
  sendSome(client, 0);
  const std::string config = cluster.dir().writeFile(
      "prometheus.yml", renderPrometheusConfig(cluster.proxy().metricsPort()));
  PrometheusServer prom(cluster.dir(), *prometheus, config);

  int round = 0;
  std::string last;
  const auto start = std::chrono::steady_clock::now();
  const bool scraped = waitUntil(
      [&] {
        sendSome(client, ++round);
        last = prom.query("ringproxy_requests_total");
        return contains(last, "\"status\":\"success\"") && contains(last, "\"command\":\"set\"");
      },
      kScrapeWait, 250ms);
  INFO("last answer: " << last);
  REQUIRE(scraped);
  UNSCOPED_INFO("first sample after " << elapsedMs(start) << " ms");

  {  // the target is up and the alert rules are loaded
    CHECK(contains(prom.query("up{job=\"ringproxy\"} == 1"), "\"job\":\"ringproxy\""));
    const std::string rules = prom.get("/api/v1/rules");
    for (const char* alert : {"RingproxyDown", "RingproxyShardDown", "RingproxyBackendErrors",
                              "RingproxyHighLatencyP99", "RingproxyCacheFlushStorm",
                              "RingproxyMigrationStuck", "RingproxyConfigReloadFailed", "RingproxyShardEjected"}) {
      INFO("alert " << alert);
      CHECK(contains(rules, std::string("\"name\":\"") + alert + "\""));
    }
    CHECK_FALSE(contains(rules, "\"health\":\"err"));
  }

  {  // every dashboard query is valid PromQL against the live server
    const std::vector<std::string> queries = dashboardQueries(cluster.dir());
    CHECK(queries.size() >= 20);
    for (const std::string& q : queries) {
      const std::string answer = prom.query(q);
      INFO("query " << q << "\nanswer " << answer);
      CHECK(contains(answer, "\"status\":\"success\""));
    }
    // The request rate panel has data once two scrapes exist.
    std::string rate;
    CHECK(waitUntil(
        [&] {
          sendSome(client, ++round);
          rate = prom.query("sum by (command) (rate(ringproxy_requests_total[1m]))");
          return contains(rate, "\"command\":\"set\"");
        },
        15s, 250ms));
    INFO(rate);
  }
}
