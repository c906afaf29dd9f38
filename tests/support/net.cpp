// Free ports, polling and a minimal HTTP client; see net.h. Called by the support classes.
#include "tests/support/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace testsupport {

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

uint16_t bindEphemeral() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port == 0) throw std::runtime_error("cannot bind an ephemeral port on 127.0.0.1");
  return port;
}

// Waits for fd to become readable/writable until `deadline`.
bool pollFd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
}

void parseHttp(const std::string& raw, HttpResponse& out) {
  size_t split = raw.find("\r\n\r\n");
  if (split == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) return;
  out.headers = raw.substr(0, split);
  out.body = raw.substr(split + 4);
  size_t sp = raw.find(' ');
  if (sp != std::string::npos) out.status = std::atoi(raw.c_str() + sp + 1);
}

// True once `raw` holds headers and a body as long as its Content-Length says.
bool httpComplete(const std::string& raw) {
  size_t split = raw.find("\r\n\r\n");
  if (split == std::string::npos) return false;
  std::string head = raw.substr(0, split);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t cl = head.find("\r\ncontent-length:");
  if (cl == std::string::npos) return false;  // read until the server closes
  size_t length = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
  return raw.size() - split - 4 >= length;
}

}  // namespace

uint16_t pickFreePort() {
  static std::mutex m;
  static std::set<uint16_t> handedOut;
  std::lock_guard<std::mutex> lock(m);
  for (int attempt = 0; attempt < 100; ++attempt) {
    uint16_t port = bindEphemeral();
    if (handedOut.insert(port).second) return port;
  }
  throw std::runtime_error("pickFreePort: no new free port after 100 attempts");
}

bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
               std::chrono::milliseconds step) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

HttpResponse httpGet(uint16_t port, const std::string& path, std::chrono::milliseconds timeout) {
  HttpResponse out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  sockaddr_in addr = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return out;
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return out;
  }
  std::string raw;
  char buf[8192];
  while (pollFd(fd, POLLIN, deadline)) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (httpComplete(raw)) break;
  }
  ::close(fd);
  parseHttp(raw, out);
  return out;
}

long long elapsedMs(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - start)
      .count();
}

std::string respCommand(const std::vector<std::string>& args) {
  // Appended piece by piece: `"literal" + std::to_string(n)` trips GCC 12's -Wrestrict.
  std::string out(1, '*');
  out.append(std::to_string(args.size())).append("\r\n");
  for (const auto& a : args) {
    out.append(1, '$').append(std::to_string(a.size())).append("\r\n");
    out.append(a).append("\r\n");
  }
  return out;
}

RawSocket::RawSocket(uint16_t port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr = loopback(port);
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = rc == 0 ? 0 : errno;
  if (err == EINPROGRESS && pollFd(fd_, POLLOUT, deadline)) {
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  }
  if (err != 0) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(err == EINPROGRESS ? ETIMEDOUT : err));
  }
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::sendAll(std::string_view bytes) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!pollFd(fd_, POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

std::string RawSocket::recvSome(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (pollFd(fd_, POLLIN, deadline)) {
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) return std::string(buf, static_cast<size_t>(n));
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) break;
  }
  return "";
}

std::string RawSocket::recvUntil(const std::function<bool(const std::string&)>& complete,
                                 std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string received;
  while (!complete(received)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    std::string chunk = recvSome(left);
    if (chunk.empty()) break;
    received += chunk;
  }
  return received;
}

}  // namespace testsupport
