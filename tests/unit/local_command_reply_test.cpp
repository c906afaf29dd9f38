// Unit tests for COMMAND and its subcommands (proxy/server/command_reply.cpp): byte-exact
// replies in Redis 7.0.15's format, generated from the command table. The expected bytes
// were taken from a live redis-server 7.0.15, except the four trailing arrays of each
// entry (ACL categories, tips, key specs, subcommands), which ringproxy sends empty.
// Run by ctest as "local: ...".
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command/command_table.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/server/command_reply.h"
#include "proxy/server/local_commands.h"

namespace {

std::string run(std::initializer_list<std::string_view> argv) {
  const std::vector<std::string_view> args(argv);
  const proxy::LocalArgs local{args.size(), [&args](size_t i) { return args.at(i); }};
  proxy::LocalState state;
  std::string out;
  proxy::runLocalCommand(local, state, proxy::LocalInfo{}, out);
  return out;
}

// Built with += only: GCC 12 warns (-Wrestrict, a false positive) on chained operator+.
std::string bulks(std::initializer_list<std::string_view> items) {
  std::string out = "*";
  out += std::to_string(items.size());
  out += "\r\n";
  for (std::string_view item : items) {
    out += '$';
    out += std::to_string(item.size());
    out += "\r\n";
    out += item;
    out += "\r\n";
  }
  return out;
}

std::string error(std::string_view text) {
  std::string out = "-";
  out += text;
  out += "\r\n";
  return out;
}

const std::string kEmptyTail = "*0\r\n*0\r\n*0\r\n*0\r\n";
const std::string kGetEntry =
    "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n" + kEmptyTail;

}  // namespace

TEST_CASE("COMMAND COUNT is the table's size", "[local][command]") {
  std::string expected = ":";
  expected += std::to_string(cmd::allCommands().size());
  expected += "\r\n";
  CHECK(run({"COMMAND", "COUNT"}) == expected);
  CHECK(run({"command", "count"}) == expected);
  CHECK(expected == ":240\r\n");  // Redis 7.0.15's own count
}

TEST_CASE("COMMAND INFO sends Redis's entry layout", "[local][command]") {
  CHECK(run({"COMMAND", "INFO", "get"}) == "*1\r\n" + kGetEntry);
  CHECK(run({"COMMAND", "INFO", "GET", "nosuch"}) == "*2\r\n" + kGetEntry + "$-1\r\n");
  CHECK(run({"COMMAND", "INFO", "nosuch"}) == "*1\r\n$-1\r\n");
  // Flags in Redis's reply order (not bit order), negative arity and last key.
  CHECK(run({"COMMAND", "INFO", "eval"}) ==
        "*1\r\n*10\r\n$4\r\neval\r\n:-3\r\n*5\r\n+noscript\r\n+stale\r\n+skip_monitor\r\n"
        "+no_mandatory_keys\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n" + kEmptyTail);
  CHECK(run({"COMMAND", "INFO", "mset"}) ==
        "*1\r\n*10\r\n$4\r\nmset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:2\r\n" +
            kEmptyTail);
  // The table lends OBJECT its subcommands' key at 2 for routing; Redis reports none.
  CHECK(run({"COMMAND", "INFO", "object"}) ==
        "*1\r\n*10\r\n$6\r\nobject\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n" + kEmptyTail);
}

TEST_CASE("COMMAND and COMMAND INFO without names list every table entry", "[local][command]") {
  const std::string all = run({"COMMAND"});
  CHECK(run({"COMMAND", "INFO"}) == all);
  std::vector<std::string_view> entries;
  REQUIRE(resp::splitArray(all, entries));
  const auto table = cmd::allCommands();
  REQUIRE(entries.size() == table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    std::string expected;
    proxy::appendCommandEntry(table[i], expected);
    INFO(table[i].name);
    CHECK(entries[i] == expected);
  }
}

TEST_CASE("COMMAND LIST names commands and their subcommands", "[local][command]") {
  std::vector<std::string_view> names;
  const std::string all = run({"COMMAND", "LIST"});
  REQUIRE(resp::splitArray(all, names));
  CHECK(names.size() == 366);  // 240 commands + 126 subcommands in Redis 7.0.15
  CHECK(run({"COMMAND", "LIST", "FILTERBY", "PATTERN", "CONFIG*"}) ==
        bulks({"config", "config|get", "config|help", "config|resetstat", "config|rewrite",
               "config|set"}));
  CHECK(run({"COMMAND", "LIST", "filterby", "pattern", "g?t"}) == bulks({"get"}));
  CHECK(run({"COMMAND", "LIST", "FILTERBY", "PATTERN", "[^a-w]*|h?lp"}) ==
        bulks({"xgroup|help", "xinfo|help"}));
  CHECK(run({"COMMAND", "LIST", "FILTERBY", "PATTERN", ""}) == "*0\r\n");
  CHECK(run({"COMMAND", "LIST", "FILTERBY", "PATTERN", "\\g[!-f]t"}) == bulks({"get"}));
  // Many stars stay cheap: the matcher backtracks to the last star only.
  std::string hostile;
  for (int i = 0; i < 64; ++i) hostile += "*e";
  hostile += "*q";
  CHECK(run({"COMMAND", "LIST", "FILTERBY", "PATTERN", hostile}) == "*0\r\n");
  CHECK(run({"COMMAND", "LIST", "FILTERBY", "MODULE", "m"}) == "*0\r\n");
  CHECK(run({"COMMAND", "LIST", "x"}) == error("ERR syntax error"));
  CHECK(run({"COMMAND", "LIST", "FILTERBY", "PATTERN"}) == error("ERR syntax error"));
  CHECK(run({"COMMAND", "LIST", "FILTERBY", "OTHER", "x"}) == error("ERR syntax error"));
  CHECK(run({"COMMAND", "LIST", "FILTERBY", "PATTERN", "a", "b"}) == error("ERR syntax error"));
}

TEST_CASE("COMMAND DOCS is consistently empty", "[local][command]") {
  CHECK(run({"COMMAND", "DOCS"}) == "*0\r\n");
  CHECK(run({"COMMAND", "DOCS", "get", "set"}) == "*0\r\n");
  CHECK(run({"COMMAND", "DOCS", "nosuch"}) == "*0\r\n");
}

TEST_CASE("COMMAND HELP is Redis's text", "[local][command]") {
  const std::string help = run({"COMMAND", "HELP"});
  CHECK(help.rfind("*21\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
                   "+(no subcommand)\r\n+    Return details about all Redis commands.\r\n", 0) == 0);
  CHECK(help.find("+GETKEYSANDFLAGS <full-command>\r\n") != std::string::npos);
  const std::string_view tail = "+HELP\r\n+    Prints this help.\r\n";
  REQUIRE(help.size() > tail.size());
  CHECK(help.substr(help.size() - tail.size()) == tail);
}

TEST_CASE("COMMAND GETKEYS answers from the table", "[local][command][getkeys]") {
  CHECK(run({"COMMAND", "GETKEYS", "GET", "a"}) == bulks({"a"}));
  CHECK(run({"COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"}) == bulks({"a", "b"}));
  CHECK(run({"COMMAND", "GETKEYS", "mset", "a", "1", "b"}) == bulks({"a", "b"}));  // as Redis
  CHECK(run({"COMMAND", "GETKEYS", "eval", "s", "2", "a", "b", "c"}) == bulks({"a", "b"}));
  CHECK(run({"COMMAND", "GETKEYS", "eval", "s", "0"}) == "*0\r\n");
  CHECK(run({"COMMAND", "GETKEYS", "eval", "s", "2", "a"}) == "*0\r\n");  // no_mandatory_keys
  CHECK(run({"COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"}) == bulks({"d", "a", "b"}));
  CHECK(run({"COMMAND", "GETKEYS", "sort", "k", "STORE", "d"}) == bulks({"k", "d"}));
  CHECK(run({"COMMAND", "GETKEYS", "sort", "k", "by", "x", "get", "y", "store", "d"}) ==
        bulks({"k", "d"}));
  CHECK(run({"COMMAND", "GETKEYS", "object", "encoding", "k"}) == bulks({"k"}));
  CHECK(run({"COMMAND", "GETKEYS", "xread", "COUNT", "1", "STREAMS", "a", "b", "0", "0"}) ==
        bulks({"a", "b"}));
}

TEST_CASE("COMMAND GETKEYS refuses like Redis", "[local][command][getkeys]") {
  const std::string invalidCommand = error("ERR Invalid command specified");
  const std::string noKeys = error("ERR The command has no key arguments");
  const std::string badCount = error("ERR Invalid number of arguments specified for command");
  const std::string badArgs = error("ERR Invalid arguments specified for command");
  CHECK(run({"COMMAND", "GETKEYS", "nosuch", "a"}) == invalidCommand);
  CHECK(run({"COMMAND", "GETKEYS", "object", "nosub", "k"}) == invalidCommand);
  CHECK(run({"COMMAND", "GETKEYS", "config", "nosub"}) == invalidCommand);
  CHECK(run({"COMMAND", "GETKEYS", "ping", "x"}) == noKeys);
  CHECK(run({"COMMAND", "GETKEYS", "config", "get", "x"}) == noKeys);
  CHECK(run({"COMMAND", "GETKEYS", "object", "help", "x"}) == noKeys);  // keyless checked first
  CHECK(run({"COMMAND", "GETKEYS", "spublish", "c", "m"}) == noKeys);   // a channel, not a key
  CHECK(run({"COMMAND", "GETKEYS", "get", "a", "b"}) == badCount);
  CHECK(run({"COMMAND", "GETKEYS", "object", "encoding"}) == badCount);
  CHECK(run({"COMMAND", "GETKEYS", "zunionstore", "d", "5", "a"}) == badArgs);
  CHECK(run({"COMMAND", "GETKEYS", "zunionstore", "d", "0", "a"}) == badArgs);
  CHECK(run({"COMMAND", "GETKEYS", "migrate", "h", "p", "k", "0", "0", "KEYS", "a"}) == badArgs);
  CHECK(run({"COMMAND", "GETKEYS", "pfmerge", "a"}) == badArgs);
  CHECK(run({"COMMAND", "GETKEYS", "get"}) ==
        error("ERR wrong number of arguments for 'command|getkeys' command"));
}

TEST_CASE("COMMAND subcommand errors use Redis's text", "[local][command]") {
  CHECK(run({"COMMAND", "x"}) == error("ERR unknown subcommand 'x'. Try COMMAND HELP."));
  CHECK(run({"COMMAND", "Foo", "bar"}) == error("ERR unknown subcommand 'Foo'. Try COMMAND HELP."));
  CHECK(run({"COMMAND", "COUNT", "x"}) ==
        error("ERR wrong number of arguments for 'command|count' command"));
  CHECK(run({"COMMAND", "HELP", "x"}) ==
        error("ERR wrong number of arguments for 'command|help' command"));
  CHECK(run({"COMMAND", "GETKEYSANDFLAGS", "set", "a", "b"}).rfind("-ERR command ", 0) == 0);
}
