// FakeClient: non-blocking socket I/O for fuzz_session's client (see session_client.h).
// Called by: fuzz_session.cpp only.
#include "session_client.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace fuzz {

namespace {
// Enough to check how the output ends; older bytes are dropped so a reply-heavy input
// (COMMAND in a loop) costs no memory.
constexpr size_t kTailKeep = 4096;
constexpr size_t kTailMax = 64 * 1024;
}  // namespace

FakeClient::~FakeClient() {
  if (fd_ >= 0) ::close(fd_);
}

void FakeClient::keep(const char* data, size_t n) {
  received_ += n;
  const size_t from = tail_.size() > marker_.size() ? tail_.size() - marker_.size() : 0;
  tail_.append(data, n);
  if (!marker_.empty() && !markerSeen_) markerSeen_ = tail_.find(marker_, from) != std::string::npos;
  if (tail_.size() > kTailMax) tail_.erase(0, tail_.size() - kTailKeep);
}

void FakeClient::drain() {
  char buf[16384];
  while (!eof_) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      keep(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    eof_ = true;  // 0: the proxy closed; an error (reset) counts the same
  }
}

void FakeClient::pump(std::chrono::microseconds timeout, bool wantWrite) {
  pollfd p{fd_, static_cast<short>(POLLIN | (wantWrite ? POLLOUT : 0)), 0};
  const timespec ts{static_cast<time_t>(timeout.count() / 1000000),
                    static_cast<long>(timeout.count() % 1000000) * 1000};
  if (::ppoll(&p, 1, &ts, nullptr) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) drain();
}

bool FakeClient::write(std::string_view bytes, Clock::time_point deadline) {
  size_t off = 0;
  while (off < bytes.size()) {
    if (eof_) return false;
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Clock::now() >= deadline) return false;
      pump(std::chrono::milliseconds(1), true);
      continue;
    }
    drain();  // EPIPE or reset: the proxy closed (QUIT, a limit); keep what it sent
    return false;
  }
  drain();
  return true;
}

bool FakeClient::allConsumed() const {
  int queued = 0;
  return ::ioctl(fd_, SIOCOUTQ, &queued) == 0 && queued == 0;
}

bool FakeClient::waitConsumed(std::chrono::microseconds maxWait) {
  const auto deadline = Clock::now() + maxWait;
  for (;;) {
    if (allConsumed()) return true;
    if (eof_ || Clock::now() >= deadline) return false;
    // Short: most chunks are read within a few microseconds of the proxy's wake-up.
    pump(std::chrono::microseconds(20));
  }
}

FakeClient::Outcome FakeClient::readUntil(const std::function<bool()>& done, Clock::time_point deadline) {
  for (;;) {
    drain();
    if (done()) return Outcome::Done;
    if (eof_) return Outcome::Eof;
    if (Clock::now() >= deadline) return Outcome::Deadline;
    pump(std::chrono::milliseconds(1));
  }
}

void FakeClient::hangUp() { ::shutdown(fd_, SHUT_WR); }

std::string printable(std::string_view bytes, size_t max) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && out.size() < max; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.size() >= max) out += "...";
  return out;
}

}  // namespace fuzz
