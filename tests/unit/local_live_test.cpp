// Live comparison of the locally answered commands (proxy/server/local_commands.cpp,
// command_reply.cpp, info_reply.cpp) with a private redis-server 7.0.15: byte-exact where
// ringproxy claims exactness, field by field where it sends less than Redis (COMMAND's
// trailing arrays, INFO's fields). Each test case starts its own server on a free loopback
// port and stops it by PID. Without redis-server on PATH the cases warn and pass.
// Run by ctest as "local: ...".
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "proxy/command/command_table.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/server/local_commands.h"

namespace {

using Argv = std::vector<std::string>;

bool redisOnPath() {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    const size_t colon = std::min(rest.find(':'), rest.size());
    const std::string candidate = std::string(rest.substr(0, colon)) + "/redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    rest.remove_prefix(std::min(colon + 1, rest.size()));
  }
  return false;
}

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

// The redis-server child process. A separate member so that it is stopped (by its PID) and
// its directory removed even when LiveRedis's constructor fails after the fork.
struct ServerProcess {
  pid_t pid = -1;
  std::string dir;

  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
  }

  // True once the child has exited (it is then reaped, and never signalled again).
  bool exited() {
    int status = 0;
    if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid) pid = -1;
    return pid <= 0;
  }
};

// A private redis-server and one raw RESP connection to it.
class LiveRedis {
 public:
  LiveRedis() {
    char dirTemplate[] = "/tmp/rp-locallive-XXXXXX";
    REQUIRE(::mkdtemp(dirTemplate) != nullptr);
    process_.dir = dirTemplate;
    const int port = freeLoopbackPort();
    Argv args{"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--dir", process_.dir};
    const std::string log = process_.dir + "/redis.log";
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    process_.pid = ::fork();
    REQUIRE(process_.pid >= 0);
    if (process_.pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out >= 0) {
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
      }
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    connect(port);
  }

  ~LiveRedis() {
    if (fd_ >= 0) ::close(fd_);
  }

  LiveRedis(const LiveRedis&) = delete;
  LiveRedis& operator=(const LiveRedis&) = delete;

  // Sends one command and returns Redis's raw reply frame.
  std::string call(const Argv& argv) {
    std::string request = "*" + std::to_string(argv.size()) + "\r\n";
    for (const auto& a : argv) request += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    for (size_t sent = 0; sent < request.size();) {
      const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      sent += static_cast<size_t>(n);
    }
    resp::ReplyScanner scanner;
    std::string reply;
    char chunk[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      REQUIRE(n > 0);
      reply.append(chunk, static_cast<size_t>(n));
      const resp::ParseResult r = scanner.scan(reply);
      REQUIRE(r.status != resp::ParseStatus::Error);
      if (r.status == resp::ParseStatus::Complete) {
        REQUIRE(r.consumed == reply.size());
        return reply;
      }
    }
  }

 private:
  void connect(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int attempt = 0; attempt < 50; ++attempt) {
      fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
      REQUIRE(fd_ >= 0);
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return;
      ::close(fd_);
      fd_ = -1;
      REQUIRE_FALSE(process_.exited());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("redis-server did not accept connections on port " << port);
  }

  ServerProcess process_;
  int fd_ = -1;
};

std::string ours(const Argv& argv) {
  const proxy::LocalArgs args{argv.size(), [&argv](size_t i) { return std::string_view(argv.at(i)); }};
  proxy::LocalState state;
  std::string out;
  proxy::runLocalCommand(args, state, proxy::LocalInfo{}, out);
  return out;
}

std::vector<std::string> bulkStrings(std::string_view frame) {
  std::vector<std::string_view> items;
  REQUIRE(resp::splitArray(frame, items));
  std::vector<std::string> out;
  for (std::string_view item : items) {
    REQUIRE(item.front() == '$');
    const size_t body = item.find("\r\n") + 2;
    out.emplace_back(item.substr(body, item.size() - body - 2));
  }
  return out;
}

#define SKIP_WITHOUT_REDIS()                                       \
  if (!redisOnPath()) {                                            \
    WARN("redis-server is not on PATH: live comparison skipped"); \
    return;                                                        \
  }

}  // namespace

TEST_CASE("live: replies ringproxy claims exact match Redis byte for byte", "[local][live]") {
  SKIP_WITHOUT_REDIS();
  LiveRedis redis;
  const std::vector<Argv> cases = {
      {"COMMAND", "COUNT"}, {"COMMAND", "HELP"}, {"command", "help"}, {"COMMAND", "foo"},
      {"COMMAND", "COUNT", "x"}, {"COMMAND", "HELP", "x"}, {"COMMAND", "LIST", "x"},
      {"COMMAND", "LIST", "FILTERBY", "x", "y"}, {"COMMAND", "LIST", "FILTERBY", "PATTERN"},
      {"COMMAND", "LIST", "FILTERBY", "MODULE", "m"}, {"COMMAND", "LIST", "FILTERBY", "PATTERN", ""},
      {"COMMAND", "INFO", "nosuch"}, {"COMMAND", "DOCS", "nosuch"}, {"COMMAND", "GETKEYS"},
      {"COMMAND", "GETKEYS", "get"}, {"INFO", "nosuch"}, {"INFO", "keyspace"},
      {"LOLWUT"}, {"LOLWUT", "VERSION", "1"}, {"LOLWUT", "VERSION", "x"},
      {"LOLWUT", "VERSION", "5", "x"}, {"LOLWUT", "VERSION", "05"}, {"LOLWUT", "foo"},
      {"PING"}, {"PING", "hi"}, {"PING", "a", "b"}, {"ECHO", "hi"}, {"ECHO"}, {"TIME", "x"},
      {"RESET", "x"},
  };
  for (const Argv& argv : cases) {
    INFO(argv.at(0) << " " << (argv.size() > 1 ? argv[1] : "") << " (" << argv.size() << " args)");
    CHECK(ours(argv) == redis.call(argv));
  }
}

TEST_CASE("live: every COMMAND entry matches Redis in its first six fields", "[local][live]") {
  SKIP_WITHOUT_REDIS();
  LiveRedis redis;
  for (const auto& spec : cmd::allCommands()) {
    const Argv argv{"COMMAND", "INFO", std::string(spec.name)};
    const std::string theirs = redis.call(argv);
    const std::string mine = ours(argv);
    std::vector<std::string_view> theirOuter, myOuter, theirFields, myFields;
    REQUIRE(resp::splitArray(theirs, theirOuter));
    REQUIRE(resp::splitArray(mine, myOuter));
    REQUIRE(theirOuter.size() == 1);
    REQUIRE(myOuter.size() == 1);
    REQUIRE(resp::splitArray(theirOuter[0], theirFields));
    REQUIRE(resp::splitArray(myOuter[0], myFields));
    REQUIRE(theirFields.size() == 10);
    REQUIRE(myFields.size() == 10);
    for (size_t i = 0; i < 6; ++i) {
      INFO(spec.name << " field " << i);
      CHECK(myFields[i] == theirFields[i]);
    }
  }
}

TEST_CASE("live: COMMAND LIST names what Redis names", "[local][live]") {
  SKIP_WITHOUT_REDIS();
  LiveRedis redis;
  for (const char* pattern : {"*", "x*", "CONFIG*", "*|h[a-e]lp", "?et", "[^a-x]*", "*\\|*"}) {
    const Argv argv{"COMMAND", "LIST", "FILTERBY", "PATTERN", pattern};
    INFO(pattern);
    const auto theirs = bulkStrings(redis.call(argv));
    const auto mine = bulkStrings(ours(argv));
    CHECK(std::set<std::string>(mine.begin(), mine.end()) ==
          std::set<std::string>(theirs.begin(), theirs.end()));
    CHECK(mine.size() == theirs.size());
  }
}

TEST_CASE("live: COMMAND GETKEYS agrees with Redis over every command", "[local][live]") {
  SKIP_WITHOUT_REDIS();
  LiveRedis redis;
  // Generic argument shapes: too few, keys, numkeys counts (valid and not), extra words.
  const std::vector<Argv> shapes = {
      {}, {"a"}, {"a", "b"}, {"1", "a"}, {"a", "1", "b"}, {"2", "a", "b"}, {"a", "2", "b", "c"},
      {"0", "a"}, {"a", "b", "c", "d"}, {"1", "a", "b", "c", "d", "e"},
      {"help"}, {"encoding", "k"}, {"usage", "k"}, {"k", "STORE", "d"}};
  for (const auto& spec : cmd::allCommands()) {
    for (const Argv& shape : shapes) {
      Argv argv{"COMMAND", "GETKEYS", std::string(spec.name)};
      argv.insert(argv.end(), shape.begin(), shape.end());
      INFO(spec.name << " with " << shape.size() << " args");
      CHECK(ours(argv) == redis.call(argv));
    }
  }
}

TEST_CASE("live: INFO fields are Redis's, in Redis's order", "[local][live]") {
  SKIP_WITHOUT_REDIS();
  LiveRedis redis;
  const std::string theirs = redis.call({"INFO", "everything"});
  const std::string mine = ours({"INFO"});
  const auto keysOf = [](std::string_view frame) {
    std::vector<std::string> keys;
    std::string_view body = frame.substr(frame.find("\r\n") + 2);
    while (!body.empty()) {
      const size_t eol = std::min(body.find("\r\n"), body.size());
      const std::string_view line = body.substr(0, eol);
      if (!line.empty()) keys.emplace_back(line.substr(0, line.find(':')));
      body.remove_prefix(std::min(eol + 2, body.size()));
    }
    return keys;
  };
  const auto theirKeys = keysOf(theirs);
  size_t next = 0;  // our fields must appear in Redis's list in the same order
  for (const std::string& key : keysOf(mine)) {
    if (key == "ringproxy_version" || key == "# Ringproxy" || key == "shards" || key == "workers") {
      continue;
    }
    INFO(key);
    size_t at = next;
    while (at < theirKeys.size() && theirKeys[at] != key) ++at;
    CHECK(at < theirKeys.size());
    if (at < theirKeys.size()) next = at + 1;
  }
  const auto lineOf = [](std::string_view text, std::string_view key) {
    const size_t at = text.find(std::string("\r\n") + std::string(key) + ":");
    return at == std::string_view::npos ? std::string_view()
                                        : text.substr(at + 2, text.find("\r\n", at + 2) - at - 2);
  };
  CHECK(lineOf(mine, "os") == lineOf(theirs, "os"));
  CHECK(lineOf(mine, "arch_bits") == lineOf(theirs, "arch_bits"));
  CHECK(lineOf(mine, "redis_version") == lineOf(theirs, "redis_version"));
}
