// Live check of the command table (proxy/command) against a real redis-server 7.0: the
// committed table must match COMMAND exactly (names, arity, key spec, flags, numkeys), and
// keyIndices must agree with Redis's own COMMAND GETKEYS. Each test case starts a private
// server on a free loopback port and always stops it by PID. Run by ctest as
// "command-live: ..."; needs redis-server on PATH.
#include <catch2/catch.hpp>

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "proxy/command/command_table.h"

namespace {

// Asks the kernel for an unused port. The small race until redis binds it is acceptable
// for a test; a clash shows up as an early server exit with a clear message.
int freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(addr.sin_port);
}

// A private redis-server; the destructor stops it (SIGTERM, waitpid) on every path,
// including a failed REQUIRE, and removes its directory.
class RedisServer {
 public:
  RedisServer() {
    char dirTemplate[] = "/tmp/rp-cmdlive-XXXXXX";
    REQUIRE(::mkdtemp(dirTemplate) != nullptr);
    dir_ = dirTemplate;
    port_ = freeLoopbackPort();
    // argv is built before fork: only async-signal-safe calls are allowed in the child.
    const std::string port = std::to_string(port_);
    const std::string log = dir_ + "/redis.log";
    std::vector<std::string> args{"redis-server", "--port", port, "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", dir_};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // no orphan if the test binary dies hard
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out >= 0) {
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
      }
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
  }

  ~RedisServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }

  bool exited() {
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

using Context = std::unique_ptr<redisContext, decltype(&redisFree)>;
using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

Context connectTo(RedisServer& server) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    REQUIRE_FALSE(server.exited());
    Context ctx(redisConnectWithTimeout("127.0.0.1", server.port(), timeval{1, 0}), redisFree);
    if (ctx && ctx->err == 0) return ctx;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("redis-server did not accept connections on port " << server.port());
  return Context(nullptr, redisFree);
}

Reply run(redisContext* ctx, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* raw = redisCommandArgv(ctx, static_cast<int>(args.size()), argv.data(), lens.data());
  REQUIRE(raw != nullptr);
  return Reply(static_cast<redisReply*>(raw), freeReplyObject);
}

std::vector<std::string> withGetKeys(const std::vector<std::string>& argv) {
  std::vector<std::string> request{"COMMAND", "GETKEYS"};
  request.insert(request.end(), argv.begin(), argv.end());
  return request;
}

std::string_view text(const redisReply* r) { return {r->str, r->len}; }

// RESP2 flattens maps to [k, v, k, v...].
const redisReply* field(const redisReply* map, std::string_view key) {
  for (size_t i = 0; i + 1 < map->elements; i += 2) {
    if (text(map->element[i]) == key) return map->element[i + 1];
  }
  return nullptr;
}

long long intField(const redisReply* map, std::string_view key) {
  const redisReply* value = field(map, key);
  REQUIRE(value != nullptr);
  REQUIRE(value->type == REDIS_REPLY_INTEGER);
  return value->integer;
}

// numkeys position from Redis's `keynum` key spec: begin index + keynumidx.
int keynumIndex(const redisReply* keySpecs) {
  for (size_t i = 0; i < keySpecs->elements; ++i) {
    const redisReply* spec = keySpecs->element[i];
    const redisReply* find = field(spec, "find_keys");
    if (find == nullptr || text(field(find, "type")) != "keynum") continue;
    const redisReply* begin = field(spec, "begin_search");
    return static_cast<int>(intField(field(begin, "spec"), "index") +
                            intField(field(find, "spec"), "keynumidx"));
  }
  return 0;
}

using KeySpec = std::tuple<long long, long long, long long>;

// The single (first, last, step) shared by all keyed subcommands, if they agree.
std::optional<KeySpec> subcommandKeySpec(const redisReply* subcommands) {
  std::set<KeySpec> specs;
  for (size_t i = 0; i < subcommands->elements; ++i) {
    const redisReply* sub = subcommands->element[i];
    if (sub->element[3]->integer > 0) {
      specs.emplace(sub->element[3]->integer, sub->element[4]->integer,
                    sub->element[5]->integer);
    }
  }
  if (specs.size() != 1) return std::nullopt;
  return *specs.begin();
}

}  // namespace

TEST_CASE("table matches redis-server COMMAND exactly", "[command][live]") {
  RedisServer server;
  Context ctx = connectTo(server);
  Reply info = run(ctx.get(), {"INFO", "server"});
  REQUIRE(info->type == REDIS_REPLY_STRING);
  REQUIRE(text(info.get()).find("redis_version:7.0.") != std::string_view::npos);

  Reply commands = run(ctx.get(), {"COMMAND"});
  REQUIRE(commands->type == REDIS_REPLY_ARRAY);
  std::set<std::string> redisNames;
  for (size_t i = 0; i < commands->elements; ++i) {
    const redisReply* entry = commands->element[i];
    REQUIRE(entry->elements >= 10);
    const std::string name(text(entry->element[0]));
    redisNames.insert(name);
    INFO("command " << name);
    const cmd::CommandSpec* spec = cmd::lookup(name);
    REQUIRE(spec != nullptr);
    CHECK(spec->arity == entry->element[1]->integer);

    uint32_t flags = 0;
    const redisReply* flagList = entry->element[2];
    for (size_t f = 0; f < flagList->elements; ++f) {
      const auto flag = cmd::flagFromName(text(flagList->element[f]));
      INFO("flag " << text(flagList->element[f]));
      REQUIRE(flag.has_value());
      flags |= *flag;
    }
    CHECK(spec->flags == flags);

    KeySpec expected{entry->element[3]->integer, entry->element[4]->integer,
                     entry->element[5]->integer};
    // Containers (object, memory, xinfo, xgroup) carry their keyed subcommands' spec; the
    // substitution is legal only where Redis's top level names no key.
    if (std::get<0>(expected) == 0 && spec->firstKey > 0) {
      const auto fromSubcommands = subcommandKeySpec(entry->element[9]);
      REQUIRE(fromSubcommands.has_value());
      expected = *fromSubcommands;
    }
    CHECK(KeySpec{spec->firstKey, spec->lastKey, spec->keyStep} == expected);
    CHECK(spec->numKeysIndex == keynumIndex(entry->element[8]));
  }

  std::set<std::string> ours;
  for (const auto& spec : cmd::allCommands()) ours.emplace(spec.name);
  CHECK(ours == redisNames);
  CHECK(cmd::allCommands().size() == redisNames.size());
}

TEST_CASE("keyIndices agrees with COMMAND GETKEYS", "[command][live]") {
  RedisServer server;
  Context ctx = connectTo(server);
  // Malformed instances where Redis still lists keys but we refuse, on purpose: splitting
  // or routing them would send a broken command onwards. Redis rejects them when run.
  const std::vector<std::vector<std::string>> weRefuse = {
      {"mset", "a", "1", "b"},
      {"xread", "BLOCK", "0", "STREAMS", "a", "b", "0"},
  };
  for (const auto& argv : weRefuse) {
    INFO(argv[0] << " with " << argv.size() << " arguments");
    Reply reply = run(ctx.get(), withGetKeys(argv));
    CHECK(reply->type == REDIS_REPLY_ARRAY);
    std::vector<size_t> indices;
    CHECK_FALSE(cmd::keyIndices(*cmd::lookup(argv[0]), argv.size(),
                                [&](size_t i) { return std::string_view(argv.at(i)); },
                                indices));
  }

  // Sharded pub/sub is left out: GETKEYS calls shard channels "no key arguments", yet we
  // route them by hash (covered in command_table_test.cpp).
  const std::vector<std::vector<std::string>> cases = {
      {"get", "k"},
      {"set", "k", "v", "EX", "10"},
      {"mset", "a", "1", "b", "2"},
      {"del", "a", "b", "c"},
      {"blpop", "a", "b", "0"},
      {"bitop", "AND", "d", "a", "b"},
      {"rename", "a", "b"},
      {"lmove", "a", "b", "LEFT", "RIGHT"},
      {"watch", "a", "b"},
      {"eval", "return 1", "2", "a", "b", "x"},
      {"eval", "return 1", "0"},
      {"fcall", "f", "1", "a", "x"},
      {"zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"},
      {"zdiffstore", "d", "1", "a"},
      {"zunion", "2", "a", "b"},
      {"zunion", "0", "a"},
      {"zintercard", "2", "a", "b", "LIMIT", "1"},
      {"sintercard", "1", "a"},
      {"lmpop", "2", "a", "b", "LEFT"},
      {"zmpop", "1", "z", "MIN"},
      {"blmpop", "0", "2", "a", "b", "RIGHT"},
      {"blmpop", "0", "-1", "a", "LEFT"},
      {"bzmpop", "1", "1", "z", "MAX", "COUNT", "3"},
      {"sort", "k"},
      {"sort", "k", "BY", "store"},
      {"sort", "k", "LIMIT", "0", "store"},
      {"sort", "k", "GET", "#", "STORE", "d"},
      {"sort", "k", "store", "d", "store", "e"},
      {"sort_ro", "k", "ALPHA"},
      {"georadius", "k", "1", "2", "3", "m", "STORE", "d"},
      {"georadiusbymember", "k", "m", "3", "km", "STOREDIST", "d"},
      {"georadius", "k", "1", "2", "3", "m", "WITHDIST"},
      {"xread", "COUNT", "5", "STREAMS", "a", "b", "0", "0"},
      {"xread", "BLOCK", "0", "STREAMS", "a", "b", "$", "$"},
      {"xreadgroup", "GROUP", "streams", "c", "NOACK", "STREAMS", "s1", "s2", ">", ">"},
      {"migrate", "h", "6379", "k", "0", "1000"},
      {"migrate", "h", "6379", "", "0", "1000", "AUTH", "keys", "KEYS", "a", "b"},
      {"migrate", "h", "6379", "", "0", "1000", "COPY", "AUTH2", "u", "p", "KEYS", "a"},
      {"object", "encoding", "k"},
      {"object", "help"},
      {"memory", "usage", "k", "SAMPLES", "5"},
      {"xinfo", "stream", "s", "FULL"},
      {"xgroup", "create", "s", "g", "$", "MKSTREAM"},
      {"geosearchstore", "d", "s", "FROMMEMBER", "m", "BYRADIUS", "1", "km"},
      {"copy", "a", "b", "REPLACE"},
      {"pfdebug", "getreg", "h"},
  };
  for (const auto& argv : cases) {
    std::string shown;
    for (const auto& a : argv) shown += (shown.empty() ? "" : " ") + (a.empty() ? "\"\"" : a);
    INFO(shown);
    const cmd::CommandSpec* spec = cmd::lookup(argv[0]);
    REQUIRE(spec != nullptr);
    std::vector<size_t> indices;
    const bool ok = cmd::keyIndices(*spec, argv.size(),
                                    [&](size_t i) { return std::string_view(argv.at(i)); },
                                    indices);
    std::vector<std::string> ourKeys;
    for (size_t i : indices) ourKeys.push_back(argv.at(i));

    Reply reply = run(ctx.get(), withGetKeys(argv));
    if (reply->type == REDIS_REPLY_ERROR) {
      // Redis found no keys or rejected the arguments: we must not route by any key.
      CHECK((!ok || ourKeys.empty()));
      continue;
    }
    REQUIRE(reply->type == REDIS_REPLY_ARRAY);
    std::vector<std::string> redisKeys;
    for (size_t i = 0; i < reply->elements; ++i) redisKeys.emplace_back(text(reply->element[i]));
    CHECK(ok);
    CHECK(ourKeys == redisKeys);
  }
}
