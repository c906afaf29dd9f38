// Replies for the commands ringproxy answers locally, in Redis 7.0's wire format: the
// connection handshakes (PING, HELLO, SELECT, CLIENT, AUTH, RESET...) and the small
// introspection commands, plus the dispatch to COMMAND (command_reply.cpp) and INFO
// (info_reply.cpp).
// Called by: ClientSession::runLocal through runLocalCommand, and the tests.
#include "proxy/text.h"
#include "proxy/server/local_commands.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>

#include "proxy/command/command_table.h"
#include "proxy/errors.h"
#include "proxy/resp/resp_writer.h"
#include "proxy/server/command_reply.h"
#include "proxy/server/info_reply.h"

namespace proxy {

namespace {
using text::ieq;

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
// The parameters client libraries and redis-benchmark probe at start, as the proxy (not
// any one shard) should answer them: one database, no persistence to wait for.
constexpr std::pair<std::string_view, std::string_view> kKnown[] = {
    {"save", ""}, {"appendonly", "no"}, {"databases", "1"}, {"maxmemory", "0"},
    {"maxmemory-policy", "noeviction"}, {"timeout", "0"}, {"cluster-enabled", "no"},
    {"proto-max-bulk-len", "536870912"}};

void configGet(const LocalArgs& a, std::string& out) {
  if (a.argc < 2 || !ieq(a.arg(1), "GET")) {
    return resp::appendError(out, errors::notSupported("config " + std::string(a.argc > 1 ? a.arg(1) : "")));
  }
  if (a.argc < 3) return resp::appendError(out, errors::wrongArity("config|get"));
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

void infoReply(const LocalArgs& a, const LocalInfo& localInfo, std::string& out) {
  InfoBody body = infoBody(localInfo, a);
  // No shard counts here: the session appends the summed keyspace itself when it can.
  if (body.keyspaceRequested) appendKeyspaceSection(body.text, KeyspaceTotals{});
  resp::appendBulk(out, body.text);
}

// Redis's string2ll: no '+', spaces or leading zeros, and "-0" is refused.
bool redisLong(std::string_view s, int64_t& value) {
  const size_t digits = s.size() - (s.starts_with('-') ? 1 : 0);
  if (digits == 0 || s.size() > 20) return false;
  if (s[s.size() - digits] == '0' && s.size() != 1) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size();
}

constexpr std::string_view kVersionLine = "Redis ver. 7.0.15\n";

// Static stand-ins for Redis's generated drawings, with Redis's own credit lines.
constexpr std::string_view kLolwut5 =
    " +---+ +---+ +---+ +---+ +---+\n"
    " |   | |   | |   | |   | |   |\n"
    " +---+ +---+ +---+ +---+ +---+\n"
    "  +---+ +---+  +---+ +---+  +---+\n"
    "  |   |  \\   \\  |   |  /   /  |   |\n"
    "  +---+   +---+ +---+ +---+   +---+\n"
    "\nGeorg Nees - schotter, plotter on paper, 1968. ";
constexpr std::string_view kLolwut6 =
    "        .          *        .\n"
    "   _||_     .          __\n"
    "  |    |    ___       |  |  _\n"
    "  | [] |   |   |  _   |[]| | |\n"
    "__|____|___|___|_| |__|__|_|_|__\n"
    "\nDedicated to the 8 bit game developers of past and present.\n"
    "Original 8 bit image from Plaguemon by hikikomori. ";

// LOLWUT [VERSION v] [drawing args]: Redis 7.0 draws only for versions 5 and 6 (which read
// up to three and two integer arguments); every other version, its own 7 included, gets
// the bare version line.
void lolwut(const LocalArgs& a, std::string& out) {
  int64_t version = 7;
  size_t first = 1;
  if (a.argc >= 3 && ieq(a.arg(1), "VERSION")) {
    if (!redisLong(a.arg(2), version)) return resp::appendError(out, errors::kNotInteger);
    version = static_cast<unsigned int>(version);  // Redis formats it with %u
    first = 3;
  }
  const size_t numeric = version == 5 ? 3 : version == 6 ? 2 : 0;
  for (size_t i = first; i < a.argc && i < first + numeric; ++i) {
    int64_t ignored = 0;
    if (!redisLong(a.arg(i), ignored)) return resp::appendError(out, errors::kNotInteger);
  }
  std::string text(version == 5 ? kLolwut5 : version == 6 ? kLolwut6 : std::string_view());
  text += kVersionLine;
  resp::appendBulk(out, text);
}

}  // namespace

bool configGetIsLocal(const LocalArgs& a) {
  if (a.argc < 3) return true;
  for (size_t i = 2; i < a.argc; ++i) {
    const bool known = std::any_of(std::begin(kKnown), std::end(kKnown),
                                   [&](const auto& kv) { return ieq(a.arg(i), kv.first); });
    if (!known) return false;
  }
  return true;
}

LocalAction runLocalCommand(const LocalArgs& a, LocalState& st, const LocalInfo& info,
                            std::string& out) {
  const std::string_view name = a.arg(0);
  // The dispatcher checks arity first; checking again keeps every reply below safe to
  // build from arguments it indexes, whoever calls.
  if (const cmd::CommandSpec* spec = cmd::lookup(name); spec && !cmd::arityOk(*spec, a.argc)) {
    resp::appendError(out, errors::wrongArity(spec->name));
    return LocalAction::Reply;
  }
  if (ieq(name, "ping")) ping(a, out);
  else if (ieq(name, "echo")) resp::appendBulk(out, a.arg(1));
  else if (ieq(name, "quit")) { resp::appendSimple(out, "OK"); return LocalAction::ReplyThenClose; }
  else if (ieq(name, "select")) select(a, out);
  else if (ieq(name, "hello")) hello(a, st, info, out);
  else if (ieq(name, "client")) client(a, st, out);
  else if (ieq(name, "config")) configGet(a, out);
  else if (ieq(name, "time")) timeReply(out);
  else if (ieq(name, "info")) infoReply(a, info, out);
  else if (ieq(name, "command")) commandReply(a, out);
  else if (ieq(name, "lolwut")) lolwut(a, out);
  else if (ieq(name, "reset")) { st.name.clear(); resp::appendSimple(out, "RESET"); }
  // Cluster-aware clients send these on every connection; a proxy is always readable.
  else if (ieq(name, "readonly") || ieq(name, "readwrite")) resp::appendSimple(out, "OK");
  else {
    // AUTH never gets here: ClientSession::authGate answers it with the config's users.
    resp::appendError(out, errors::notSupported(name));
  }
  return LocalAction::Reply;
}

}  // namespace proxy
