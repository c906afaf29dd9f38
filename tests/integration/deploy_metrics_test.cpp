// The metrics catalogue against a live proxy: a real ringproxy over 3 redis-server shards
// serves /metrics after some traffic; the text must pass `promtool check metrics` (format
// and lint), and every metric scripts/gen_metrics_table.py lists from metric_list.h must
// be exported with the type the table gives. Run by ctest as "e2e: deploy: metrics ...".
#include <catch2/catch.hpp>
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

// Reads, writes, a multi-key command and an unknown one, so every request-side series
// (per command, histogram buckets, per-shard backend counters) has samples.
void driveTraffic(ShardedCluster& cluster) {
  Client c = cluster.client();
  for (int i = 0; i < 300; ++i) c.append({"SET", cat("deploy:", i), cat("v", i)});
  for (int i = 0; i < 300; ++i) c.append({"GET", cat("deploy:", i)});
  c.append({"MGET", "deploy:1", "deploy:2", "deploy:3"});
  c.append({"NOSUCHCOMMAND", "x"});
  for (int i = 0; i < 602; ++i) REQUIRE(c.getReply().type != ReplyType::IoError);
}

std::string catalogue(const TempDir& dir) {
  RunResult table =
      runShell(dir, "/usr/bin/python3 " + shellQuote(sourcePath("scripts/gen_metrics_table.py")));
  INFO(table.output);
  REQUIRE(table.exitCode == 0);
  return table.output;
}

}  // namespace

TEST_CASE("deploy: metrics catalogue is a markdown table of metric_list.h", "[deploy]") {
  TempDir dir;
  const std::string table = catalogue(dir);
  INFO(table);
  CHECK(table.rfind("| Metric | Type | Labels | Help |\n|---|---|---|---|\n", 0) == 0);
  const std::vector<std::string> names = catalogueNames(table);
  CHECK(names.size() >= 7);
  CHECK(contains(table, "| `ringproxy_requests_total` | counter | `command` |"));
  CHECK(contains(table, "| `ringproxy_request_duration_seconds` | histogram | — |"));
  CHECK(contains(table, "| `ringproxy_backend_errors_total` | counter | `shard`, `kind` |"));
}

TEST_CASE("deploy: live /metrics passes promtool and exports the whole catalogue", "[deploy]") {
  ShardedCluster cluster;
  driveTraffic(cluster);
  HttpResponse scrape = httpGet(cluster.proxy().metricsPort(), "/metrics");
  REQUIRE(scrape.status == 200);
  const std::string path = cluster.dir().writeFile("metrics.txt", scrape.body);

  {  // every catalogued metric is exported with its type
    const std::string table = catalogue(cluster.dir());
    for (const std::string& name : catalogueNames(table)) {
      // Row: | `name` | type | labels | help |
      const size_t typeAt = table.find("| `" + name + "` | ") + name.size() + 7;
      const std::string type = table.substr(typeAt, table.find(' ', typeAt) - typeAt);
      INFO("metric " << name << " (" << type << ")");
      CHECK(contains(scrape.body, "# TYPE " + name + " " + type + "\n"));
    }
    CHECK(contains(scrape.body, "ringproxy_requests_total{command=\"set\"} 300"));
  }

  {  // promtool check metrics finds no problem
    std::optional<std::string> promtool = findTool("promtool");
    if (!promtool) DEPLOY_SKIP("promtool not found (scripts/install-deps.sh installs prometheus)");
    RunResult r = runShell(cluster.dir(),
                           shellQuote(*promtool) + " check metrics < " + shellQuote(path), 30s);
    INFO("promtool check metrics said:\n" << r.output << "\nscraped text in " << path);
    CHECK_FALSE(r.timedOut);
    CHECK(r.exitCode == 0);
    CHECK(r.output.empty());  // lint findings are printed even when the format is valid
  }
}
