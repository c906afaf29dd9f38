// Replies for the commands ringproxy answers locally, in Redis 7.0's wire format.
#include "proxy/server/local_commands.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "proxy/errors.h"
#include "proxy/resp/resp_writer.h"

namespace proxy {

namespace {

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void ping(const LocalArgs& a, std::string& out) {
  if (a.argc > 2) return resp::appendError(out, errors::wrongArity("ping"));
  if (a.argc == 2) return resp::appendBulk(out, a.arg(1));
  resp::appendSimple(out, "PONG");
}

void select(const LocalArgs& a, std::string& out) {
  const std::string_view db = a.arg(1);
  if (db == "0") return resp::appendSimple(out, "OK");
  const bool numeric = !db.empty() && std::all_of(db.begin(), db.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '-';
  });
  resp::appendError(out, numeric ? errors::kSelectOnlyZero : errors::kNotInteger);
}

// HELLO [protover [AUTH u p] [SETNAME n]]: RESP2 only; the map is sent as a flat array.
void hello(const LocalArgs& a, LocalState& st, const LocalInfo& info, std::string& out) {
  if (a.argc >= 2) {
    const std::string_view ver = a.arg(1);
    if (ver != "2") {
      if (ver == "3") return resp::appendError(out, errors::kNoProto);
      return resp::appendError(out, "ERR Protocol version is not an integer or out of range");
    }
  }
  for (size_t i = 2; i < a.argc; ++i) {
    if (ieq(a.arg(i), "SETNAME") && i + 1 < a.argc) {
      st.name = std::string(a.arg(++i));
    } else if (ieq(a.arg(i), "AUTH") && i + 2 < a.argc) {
      i += 2;  // no client authentication configured: any credentials pass, like nopass
    } else {
      return resp::appendError(out, "ERR Syntax error in HELLO option '" + std::string(a.arg(i)) + "'");
    }
  }
  resp::appendArrayHeader(out, 14);
  resp::appendBulk(out, "server");
  resp::appendBulk(out, "redis");
  resp::appendBulk(out, "version");
  resp::appendBulk(out, "7.0.15");
  resp::appendBulk(out, "proto");
  resp::appendInteger(out, 2);
  resp::appendBulk(out, "id");
  resp::appendInteger(out, static_cast<int64_t>(st.clientId));
  resp::appendBulk(out, "mode");
  resp::appendBulk(out, "standalone");
  resp::appendBulk(out, "role");
  resp::appendBulk(out, "master");
  resp::appendBulk(out, "modules");
  resp::appendArrayHeader(out, 0);
  (void)info;
}

std::string clientInfoLine(const LocalState& st) {
  return "id=" + std::to_string(st.clientId) + " addr=" + st.addr + " name=" + st.name +
         " db=0 lib-name=" + st.libName + " lib-ver=" + st.libVer + " resp=2\n";
}

void client(const LocalArgs& a, LocalState& st, std::string& out) {
  const std::string_view sub = a.argc > 1 ? a.arg(1) : std::string_view();
  if (ieq(sub, "ID") && a.argc == 2) return resp::appendInteger(out, static_cast<int64_t>(st.clientId));
  if (ieq(sub, "GETNAME") && a.argc == 2) {
    return st.name.empty() ? resp::appendNullBulk(out) : resp::appendBulk(out, st.name);
  }
  if (ieq(sub, "SETNAME") && a.argc == 3) {
    const std::string_view n = a.arg(2);
    if (std::any_of(n.begin(), n.end(), [](char c) { return c <= ' ' || c > '~'; })) {
      return resp::appendError(out, "ERR Client names cannot contain spaces, newlines or special characters.");
    }
    st.name = std::string(n);
    return resp::appendSimple(out, "OK");
  }
  if (ieq(sub, "SETINFO") && a.argc == 4) {
    if (ieq(a.arg(2), "LIB-NAME")) st.libName = std::string(a.arg(3));
    else if (ieq(a.arg(2), "LIB-VER")) st.libVer = std::string(a.arg(3));
    else return resp::appendError(out, "ERR Unrecognized option '" + std::string(a.arg(2)) + "'");
    return resp::appendSimple(out, "OK");
  }
  if ((ieq(sub, "INFO") && a.argc == 2) ) return resp::appendBulk(out, clientInfoLine(st));
  if (ieq(sub, "LIST")) return resp::appendBulk(out, clientInfoLine(st));
  if ((ieq(sub, "NO-EVICT") || ieq(sub, "NO-TOUCH")) && a.argc == 3) return resp::appendSimple(out, "OK");
  if (ieq(sub, "HELP")) {
    resp::appendArrayHeader(out, 1);
    return resp::appendSimple(out, "CLIENT ID|GETNAME|SETNAME|SETINFO|INFO|LIST|NO-EVICT|NO-TOUCH");
  }
  resp::appendError(out, errors::unknownSubcommand(sub, "CLIENT"));
}

// CONFIG GET answers the parameters client libraries and redis-benchmark probe at start.
void configGet(const LocalArgs& a, std::string& out) {
  if (a.argc < 2 || !ieq(a.arg(1), "GET")) {
    return resp::appendError(out, errors::notSupported("config " + std::string(a.argc > 1 ? a.arg(1) : "")));
  }
  if (a.argc < 3) return resp::appendError(out, errors::wrongArity("config|get"));
  static constexpr std::pair<std::string_view, std::string_view> kKnown[] = {
      {"save", ""}, {"appendonly", "no"}, {"databases", "1"}, {"maxmemory", "0"},
      {"maxmemory-policy", "noeviction"}, {"timeout", "0"}, {"cluster-enabled", "no"},
      {"proto-max-bulk-len", "536870912"}};
  std::string body;
  size_t n = 0;
  for (const auto& [k, v] : kKnown) {
    for (size_t i = 2; i < a.argc; ++i) {
      if (!ieq(a.arg(i), k) && a.arg(i) != "*") continue;
      resp::appendBulk(body, k);
      resp::appendBulk(body, v);
      n += 2;
      break;
    }
  }
  resp::appendArrayHeader(out, n);
  out += body;
}

void timeReply(std::string& out) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  resp::appendArrayHeader(out, 2);
  resp::appendBulk(out, std::to_string(us / 1000000));
  resp::appendBulk(out, std::to_string(us % 1000000));
}

void infoReply(const LocalInfo& info, std::string& out) {
  std::string s = "# Server\r\nredis_version:7.0.15\r\nringproxy_version:" + std::string(info.version) +
                  "\r\nredis_mode:standalone\r\n\r\n# Clients\r\nconnected_clients:" +
                  std::to_string(info.connectedClients) + "\r\n\r\n# Ringproxy\r\nshards:" +
                  std::to_string(info.shardCount) + "\r\nworkers:" + std::to_string(info.workerCount) +
                  "\r\n";
  resp::appendBulk(out, s);
}

}  // namespace

LocalAction runLocalCommand(const LocalArgs& a, LocalState& st, const LocalInfo& info,
                            std::string& out) {
  const std::string_view name = a.arg(0);
  if (ieq(name, "ping")) ping(a, out);
  else if (ieq(name, "echo")) resp::appendBulk(out, a.arg(1));
  else if (ieq(name, "quit")) { resp::appendSimple(out, "OK"); return LocalAction::ReplyThenClose; }
  else if (ieq(name, "select")) select(a, out);
  else if (ieq(name, "hello")) hello(a, st, info, out);
  else if (ieq(name, "client")) client(a, st, out);
  else if (ieq(name, "config")) configGet(a, out);
  else if (ieq(name, "time")) timeReply(out);
  else if (ieq(name, "info")) infoReply(info, out);
  else if (ieq(name, "reset")) { st.name.clear(); resp::appendSimple(out, "RESET"); }
  else if (ieq(name, "auth")) {
    resp::appendError(out, "ERR AUTH <password> called without any password configured for the "
                           "default user. Are you sure your configuration is correct?");
  } else if (ieq(name, "command") && a.argc == 2 && ieq(a.arg(1), "DOCS")) {
    resp::appendArrayHeader(out, 0);
  } else {
    resp::appendError(out, errors::notSupported(name));
  }
  return LocalAction::Reply;
}

}  // namespace proxy
