// Unit tests for INFO (proxy/server/info_reply.cpp): section selection, Redis 7.0.15's
// layout, and the keyspace hand-off to the session. Run by ctest as "local: ...".
#include <catch2/catch.hpp>

#include <sys/utsname.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/resp/resp_writer.h"
#include "proxy/server/info_reply.h"
#include "proxy/server/local_commands.h"

namespace {

struct ArgList {
  explicit ArgList(std::initializer_list<std::string_view> argv) : items(argv) {}
  proxy::LocalArgs args() const {
    return proxy::LocalArgs{items.size(), [this](size_t i) { return items.at(i); }};
  }
  std::vector<std::string_view> items;
};

proxy::InfoBody body(std::initializer_list<std::string_view> argv,
                     const proxy::LocalInfo& info = {}) {
  const ArgList list(argv);
  return proxy::infoBody(info, list.args());
}

std::string run(std::initializer_list<std::string_view> argv, const proxy::LocalInfo& info = {}) {
  const ArgList list(argv);
  proxy::LocalState state;
  std::string out;
  proxy::runLocalCommand(list.args(), state, info, out);
  return out;
}

std::string bulk(std::string_view s) {
  std::string out;
  resp::appendBulk(out, s);
  return out;
}

proxy::LocalInfo sampleInfo() {
  proxy::LocalInfo info;
  info.shardCount = 3;
  info.workerCount = 4;
  info.connectedClients = 12;
  info.blockedClients = 2;
  info.totalConnections = 99;
  info.uptimeSeconds = 200000;
  info.processId = 4242;
  info.tcpPort = 22121;
  info.version = "0.1.0";
  return info;
}

std::string osLine() {
  utsname u{};
  REQUIRE(::uname(&u) == 0);
  return std::string("os:") + u.sysname + " " + u.release + " " + u.machine + "\r\n";
}

}  // namespace

TEST_CASE("INFO server has Redis's fields in Redis's order", "[local][info]") {
  const proxy::InfoBody server = body({"INFO", "server"}, sampleInfo());
  CHECK(server.text ==
        "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
        "redis_mode:standalone\r\n" + osLine() + "arch_bits:" + std::to_string(sizeof(void*) * 8) +
        "\r\nprocess_id:4242\r\ntcp_port:22121\r\nuptime_in_seconds:200000\r\n"
        "uptime_in_days:2\r\nringproxy_version:0.1.0\r\n");
  CHECK_FALSE(server.keyspaceRequested);
}

TEST_CASE("INFO clients, stats and ringproxy", "[local][info]") {
  proxy::LocalInfo info = sampleInfo();
  CHECK(run({"INFO", "clients"}, info) ==
        bulk("# Clients\r\nconnected_clients:12\r\nblocked_clients:2\r\n"));
  CHECK(run({"INFO", "stats"}, info) == bulk("# Stats\r\ntotal_connections_received:99\r\n"));
  info.totalCommands = 1234;
  CHECK(run({"INFO", "STATS"}, info) ==
        bulk("# Stats\r\ntotal_connections_received:99\r\ntotal_commands_processed:1234\r\n"));
  CHECK(run({"INFO", "ringproxy"}, info) == bulk("# Ringproxy\r\nshards:3\r\nworkers:4\r\n"));
}

TEST_CASE("INFO sections come in Redis's order, one blank line apart", "[local][info]") {
  const proxy::LocalInfo info = sampleInfo();
  const std::string twoSections = "# Clients\r\nconnected_clients:12\r\nblocked_clients:2\r\n\r\n"
                                  "# Ringproxy\r\nshards:3\r\nworkers:4\r\n";
  CHECK(body({"INFO", "ringproxy", "clients"}, info).text == twoSections);
  CHECK(body({"INFO", "Clients", "RINGPROXY", "clients"}, info).text == twoSections);
  CHECK(body({"INFO", "clients", "nosuch", "ringproxy"}, info).text == twoSections);
}

TEST_CASE("INFO with no section, default, all or everything", "[local][info]") {
  const proxy::LocalInfo info = sampleInfo();
  const proxy::InfoBody all = body({"INFO"}, info);
  CHECK(all.keyspaceRequested);
  CHECK(all.text.rfind("# Server\r\n", 0) == 0);
  const size_t clients = all.text.find("\r\n\r\n# Clients\r\n");
  const size_t stats = all.text.find("\r\n\r\n# Stats\r\n");
  const size_t ringproxy = all.text.find("\r\n\r\n# Ringproxy\r\n");
  CHECK(clients != std::string::npos);
  CHECK(stats > clients);
  CHECK(ringproxy > stats);
  CHECK(all.text.find("Keyspace") == std::string::npos);  // left to the session
  for (std::string_view name : {"default", "ALL", "everything"}) {
    INFO(name);
    const proxy::InfoBody same = body({"INFO", name}, info);
    CHECK(same.text == all.text);
    CHECK(same.keyspaceRequested);
  }
  CHECK(run({"INFO"}, info) == bulk(all.text + "\r\n# Keyspace\r\n"));
}

TEST_CASE("INFO keyspace and unknown sections", "[local][info]") {
  CHECK(run({"INFO", "nosuch"}) == "$0\r\n\r\n");
  CHECK(run({"INFO", "keyspace"}) == "$12\r\n# Keyspace\r\n\r\n");
  const proxy::InfoBody keyspace = body({"INFO", "KEYSPACE"});
  CHECK(keyspace.text.empty());
  CHECK(keyspace.keyspaceRequested);
}

TEST_CASE("appendKeyspaceSection writes Redis's db0 line only for keys", "[local][info]") {
  std::string text;
  proxy::appendKeyspaceSection(text, proxy::KeyspaceTotals{});
  CHECK(text == "# Keyspace\r\n");
  text = "# Clients\r\nconnected_clients:1\r\n";
  proxy::appendKeyspaceSection(text, proxy::KeyspaceTotals{5, 1, 100});
  CHECK(text == "# Clients\r\nconnected_clients:1\r\n\r\n# Keyspace\r\n"
                "db0:keys=5,expires=1,avg_ttl=100\r\n");
}
