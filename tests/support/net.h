// Loopback networking helpers for the integration harness: free ports, bounded polling,
// a tiny HTTP GET (for the proxy's /metrics endpoint), and a raw TCP connection for tests
// that need the exact bytes on the wire (byte-exact reply checks, inline commands).
// Owns: the per-process set of ports already handed out (never hands one out twice);
// RawSocket owns its file descriptor.
// Called by: RedisServer, Proxy, Nutcracker, the integration tests and the live unit tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace testsupport {

// A port that was free on 127.0.0.1 a moment ago (bind port 0, read it, release it).
// Never returns the same port twice within one test process. Callers that start a
// server on it must tolerate losing a race (retry with a new port).
uint16_t pickFreePort();

// Polls `pred` every `step` until it returns true or `timeout` passes. Returns whether it
// became true. Never sleeps after success.
bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
               std::chrono::milliseconds step = std::chrono::milliseconds(20));

struct HttpResponse {
  int status = 0;       // 0 when no valid response came back
  std::string headers;  // status line + headers
  std::string body;
};
// GET http://127.0.0.1:port/path with Connection: close; bounded by `timeout`.
HttpResponse httpGet(uint16_t port, const std::string& path,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// Milliseconds elapsed since `start` (steady clock).
long long elapsedMs(std::chrono::steady_clock::time_point start);

// `args` as one RESP request: *N\r\n$len\r\narg\r\n...
std::string respCommand(const std::vector<std::string>& args);

// A blocking TCP connection to 127.0.0.1:port with nothing on top: bytes in, bytes out.
class RawSocket {
 public:
  // Connects (bounded by `timeout`); throws std::runtime_error when nothing accepts.
  explicit RawSocket(uint16_t port,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // Writes every byte; false on an error or a closed peer.
  bool sendAll(std::string_view bytes);
  // The bytes available within `timeout` (one read); "" on timeout, error or EOF.
  std::string recvSome(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Reads until `complete(received)` holds; returns what was received (complete or not
  // when `timeout` passes or the peer closes first).
  std::string recvUntil(const std::function<bool(const std::string&)>& complete,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

 private:
  int fd_ = -1;
};

}  // namespace testsupport
