// Small helpers shared by the deploy_*_test.cpp files: finding external tools (promtool,
// prometheus, systemd-analyze, python3), running shell pipelines, a plain HTTP/1.0 GET
// (Prometheus answers large HTTP/1.1 responses chunked; 1.0 gets the raw body), and the
// skip convention.
// Owns: nothing. Called by: deploy_metrics_test, deploy_prometheus_test,
// deploy_files_test, deploy_twemproxy_import_test.
//
// Skips: Catch2 v2 has no SKIP, so a test that lacks a tool WARNs "RP-SKIP: <why>" and
// returns. ctest can report those as skipped with
//   catch_discover_tests(integration_tests ... PROPERTIES SKIP_REGULAR_EXPRESSION "RP-SKIP:")
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

#ifndef RP_SOURCE_DIR
#error "RP_SOURCE_DIR must be defined"
#endif

#define DEPLOY_SKIP(why)      \
  do {                        \
    WARN("RP-SKIP: " << why); \
    return;                   \
  } while (0)

namespace deploytest {

inline std::string sourcePath(const std::string& relative) {
  return std::string(RP_SOURCE_DIR) + "/" + relative;
}

// Absolute path of an executable on $PATH (or the usual sbin dirs), nullopt if absent.
// Process and runToCompletion do no PATH lookup themselves.
inline std::optional<std::string> findTool(const std::string& name) {
  std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
  dirs += ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  std::stringstream ss(dirs);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::string path = dir + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return std::nullopt;
}

inline std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `command` with /bin/sh -c (bounded); output is stdout+stderr, exit code as is.
inline testsupport::RunResult runShell(
    const testsupport::TempDir& dir, const std::string& command,
    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  static std::atomic<int> counter{0};
  const std::string log = dir.file("sh-" + std::to_string(++counter) + ".log");
  return testsupport::runToCompletion({"/bin/sh", "-c", command}, log, timeout);
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Replaces the one occurrence of `from` in `text`; false (text unchanged) when `from`
// occurs zero or several times, so a reworded source file fails loudly.
inline bool replaceOnce(std::string& text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  if (at == std::string::npos || text.find(from, at + 1) != std::string::npos) return false;
  text.replace(at, from.size(), to);
  return true;
}

inline std::string urlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct HttpReply {
  int status = 0;  // 0: no valid response
  std::string body;
};

// GET http://127.0.0.1:port/path as HTTP/1.0: the server closes after the whole body,
// which is then never chunk-encoded. Bounded by `timeout`.
inline HttpReply httpGet10(uint16_t port, const std::string& path,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  HttpReply reply;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return reply;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  std::string raw;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
    char buf[16384];
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      raw.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  const size_t split = raw.find("\r\n\r\n");
  if (split == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) return reply;
  reply.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  reply.body = raw.substr(split + 4);
  return reply;
}

// The metric names scripts/gen_metrics_table.py prints (its first column), in order.
inline std::vector<std::string> catalogueNames(const std::string& table) {
  std::vector<std::string> names;
  std::stringstream ss(table);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    const size_t end = line.find('`', 3);
    if (end != std::string::npos) names.push_back(line.substr(3, end - 3));
  }
  return names;
}

}  // namespace deploytest
