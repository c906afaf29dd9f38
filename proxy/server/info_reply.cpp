// INFO's sections for ringproxy: Server, Clients, Stats and Ringproxy here, Keyspace from
// the caller. Field names and order follow Redis 7.0.15 for every field ringproxy can
// answer truthfully; fields it cannot (memory, replication...) are left out rather than
// invented.
// Called by: runLocalCommand and ClientSession through infoBody/appendKeyspaceSection.
#include "proxy/text.h"
#include "proxy/server/info_reply.h"

#include <sys/utsname.h>

#include <cctype>
#include <concepts>

namespace proxy {

namespace {
using text::lower;

struct Sections {
  bool server = false;
  bool clients = false;
  bool stats = false;
  bool ringproxy = false;
  bool migration = false;
  bool cache = false;
  bool hotkeys = false;
  bool keyspace = false;

  void selectAll() { server = clients = stats = ringproxy = migration = cache = hotkeys = keyspace = true; }
};

Sections parseSections(const LocalArgs& args) {
  Sections sections;
  if (args.argc < 2) {
    sections.selectAll();
    return sections;
  }
  for (size_t i = 1; i < args.argc; ++i) {
    const std::string name = lower(args.arg(i));
    if (name == "default" || name == "all" || name == "everything") sections.selectAll();
    else if (name == "server") sections.server = true;
    else if (name == "clients") sections.clients = true;
    else if (name == "stats") sections.stats = true;
    else if (name == "ringproxy") sections.ringproxy = true;
    else if (name == "migration") sections.migration = true;
    else if (name == "cache") sections.cache = true;
    else if (name == "hotkeys") sections.hotkeys = true;
    else if (name == "keyspace") sections.keyspace = true;
  }
  return sections;
}

// Redis's "os" field: uname's sysname, release and machine. Computed once; it cannot
// change while the process runs.
const std::string& osName() {
  static const std::string name = [] {
    utsname u{};
    if (::uname(&u) != 0) return std::string("unknown");
    return std::string(u.sysname) + " " + u.release + " " + u.machine;
  }();
  return name;
}

// Redis separates sections with one empty line, written before every header but the first.
void header(std::string& text, std::string_view name) {
  if (!text.empty()) text += "\r\n";
  text += "# ";
  text += name;
  text += "\r\n";
}

void field(std::string& text, std::string_view key, std::string_view value) {
  text += key;
  text += ':';
  text += value;
  text += "\r\n";
}

template <std::integral Int>
void field(std::string& text, std::string_view key, Int value) {
  field(text, key, std::string_view(std::to_string(value)));
}

void serverSection(const LocalInfo& info, std::string& text) {
  header(text, "Server");
  field(text, "redis_version", "7.0.15");
  field(text, "redis_git_sha1", "00000000");
  field(text, "redis_git_dirty", "0");
  field(text, "redis_mode", "standalone");
  field(text, "os", osName());
  field(text, "arch_bits", sizeof(void*) * 8);
  field(text, "process_id", info.processId);
  field(text, "tcp_port", info.tcpPort);
  field(text, "uptime_in_seconds", info.uptimeSeconds);
  field(text, "uptime_in_days", info.uptimeSeconds / 86400);
  field(text, "ringproxy_version", info.version);
}

}  // namespace

InfoBody infoBody(const LocalInfo& info, const LocalArgs& args) {
  const Sections sections = parseSections(args);
  InfoBody body;
  if (sections.server) serverSection(info, body.text);
  if (sections.clients) {
    header(body.text, "Clients");
    field(body.text, "connected_clients", info.connectedClients);
    field(body.text, "blocked_clients", info.blockedClients);
  }
  if (sections.stats) {
    header(body.text, "Stats");
    field(body.text, "total_connections_received", info.totalConnections);
    if (info.totalCommands) field(body.text, "total_commands_processed", *info.totalCommands);
  }
  if (sections.ringproxy) {
    header(body.text, "Ringproxy");
    field(body.text, "shards", info.shardCount);
    field(body.text, "workers", info.workerCount);
  }
  if (sections.migration && !info.migrationLines.empty()) {
    header(body.text, "Migration");
    body.text += info.migrationLines;
  }
  if (sections.cache && !info.cacheLines.empty()) {
    header(body.text, "Cache");
    body.text += info.cacheLines;
  }
  if (sections.hotkeys && !info.hotkeyLines.empty()) {
    header(body.text, "Hotkeys");
    body.text += info.hotkeyLines;
  }
  body.keyspaceRequested = sections.keyspace;
  return body;
}

void appendKeyspaceSection(std::string& text, const KeyspaceTotals& totals) {
  header(text, "Keyspace");
  if (totals.keys == 0) return;
  text += "db0:keys=" + std::to_string(totals.keys) + ",expires=" +
          std::to_string(totals.expires) + ",avg_ttl=" + std::to_string(totals.avgTtl) + "\r\n";
}

}  // namespace proxy
