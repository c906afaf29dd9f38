// ReplySink: where a backend reply (or failure) for one request goes.
// Implemented by proxy::ClientSession (single-shard requests, in its per-client FIFO) and by
// fan-out merges. pool::BackendConnection calls exactly one of onReply/onError per request,
// in the order the requests were sent, on the worker thread that owns both.
#pragma once

#include <cstdint>
#include <string_view>

namespace pool {

enum class BackendError : uint8_t {
  Timeout,        // no reply within backend.timeout_ms; the connection was reset
  Unavailable,    // not connected (connect failed, in reconnect backoff)
  Closed,         // the connection dropped with the request in flight
  Protocol,       // the shard sent bytes that are not RESP2
  Overloaded,     // too many requests or bytes queued for this shard
};

class ReplySink {
 public:
  // `frame` is one complete RESP2 reply; valid only during the call.
  virtual void onReply(uint64_t tag, std::string_view frame) = 0;
  virtual void onError(uint64_t tag, BackendError error) = 0;

 protected:
  ~ReplySink() = default;
};

}  // namespace pool
