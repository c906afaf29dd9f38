// Loopback networking helpers for the integration harness: free ports, bounded polling,
// and a tiny HTTP GET (for the proxy's /metrics endpoint).
// Owns: the per-process set of ports already handed out (never hands one out twice).
// Called by: RedisServer, Proxy, Nutcracker, and tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

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

}  // namespace testsupport
