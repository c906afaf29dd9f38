// BackendConnection: one pipelined TCP connection from one worker to one shard.
// Owns: the socket, the unsent request bytes, the FIFO of waiting ReplySinks, the reply
// read buffer and scanner, the timeout timer and the reconnect backoff.
// Called by: proxy::Worker (creates one per shard x backend.connections) and the sessions
// of that worker (send). Single-threaded: everything runs on the owning worker's io_context.
//
// Life cycle of the connection:
//   1. Connecting: async connect bounded by connect_timeout_ms; requests queue meanwhile.
//   2. Up: requests from all of the worker's clients are appended to one buffer and written
//      together when the owner ends its batch (BatchHooks). Replies are framed by
//      resp::ReplyScanner and handed to the FIFO head.
//      With TLS, the same loop moves ciphertext; a TlsFilter (memory BIOs) sits between
//      the socket and these buffers, and requests queued during the handshake wait in it.
//   3. On timeout (FIFO head older than timeout_ms), EOF, I/O or protocol error: every
//      waiter gets an error, the socket closes, and a reconnect is scheduled with
//      exponential backoff (100 ms .. 5 s). While down, send() fails fast.
// Asio stays out of this header (pimpl) so it is cheap to include.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pool/reply_sink.h"

namespace pool {
class TlsContext;
}

namespace boost::asio {
class io_context;
}

namespace pool {

class BackendConnection;

// How a connection tells its owner about work to flush, so that everything dispatched while
// handling one event leaves in one write per connection, without a posted handler (a post
// makes Asio's scheduler poll epoll once more: one system call per request at -P 1).
class BatchHooks {
 public:
  // The connection has unsent bytes; call its flush() at the end of the current batch.
  virtual void backendDirty(BackendConnection* connection) = 0;
  // Bracket the handling of one read event (replies handed to sinks in between).
  virtual void beginBatch() = 0;
  virtual void endBatch() = 0;
  // The connection is being destroyed while registered as dirty: forget it.
  virtual void backendGone(BackendConnection* connection) = 0;

 protected:
  ~BatchHooks() = default;
};

struct BackendOptions {
  std::string host;
  uint16_t port = 0;
  std::string shardName;
  uint32_t connectTimeoutMs = 1000;
  uint32_t timeoutMs = 2000;  // 0 = no timeout (blocking commands, pub/sub)
  uint32_t maxPending = 65536;
  uint64_t maxBufferBytes = 64ull << 20;
  std::string username;  // AUTH [username] password as the first request, if password set
  std::string password;
  uint32_t db = 0;  // non-zero: SELECT db right after AUTH (hot-key copy reads)
  std::shared_ptr<const TlsContext> tls;  // set: TLS to the shard (backend.tls)
  std::string tlsName;                    // the name its certificate must carry
};

// Counters the connection bumps; owned by the worker's metric cells.
struct BackendCounters {
  virtual void onRequest() = 0;
  virtual void onError(BackendError kind) = 0;
  virtual void onConnected(bool up) = 0;
  // The shard refused our AUTH (the reply text, which never contains the password).
  virtual void onAuthFailed(std::string_view reply) = 0;

 protected:
  ~BackendCounters() = default;
};

class BackendConnection {
 public:
  BackendConnection(boost::asio::io_context& ioc, BackendOptions options, BackendCounters* counters,
                    BatchHooks* hooks);
  ~BackendConnection();
  BackendConnection(const BackendConnection&) = delete;
  BackendConnection& operator=(const BackendConnection&) = delete;

  void start();
  // Closes the socket and fails whatever is in flight; no reconnect afterwards.
  void stop();

  // Queues one request. Returns the error to give the client when it cannot be queued;
  // `sink` must stay alive until its callback (sessions count their requests in flight).
  // otherwise the sink gets exactly one callback later.
  std::optional<BackendError> send(std::string_view frame, ReplySink* sink,
                                   uint64_t tag);
  // Queues bytes whose replies are not matched to a waiter: they (and every frame that
  // arrives with no waiter) go to the push sink. For pub/sub connections.
  bool sendUntracked(std::string_view frame);
  void setPushSink(ReplySink* sink);
  // A reloaded config: timeouts and caps apply to new requests; a new address or new
  // credentials reconnect (requests in flight then fail as "connection lost").
  void updateOptions(const BackendOptions& options);
  // Waiting out a reconnect backoff: connect now, backoff from its minimum again (a shard
  // auto_eject took back answers probes, so its keys are about to come here). Else nothing.
  void retryNow();
  // Writes the queued bytes now (called by the owner at the end of a batch).
  void flush();
  bool isUp() const;
  // Changes whenever the connection drops or connects anew: state a session keeps on the
  // shard's side of it (WATCH, MULTI) is gone once this moved on.
  uint64_t generation() const;
  // Connecting or up: a send now will be attempted (not failed fast).
  bool usable() const;
  size_t pending() const;
  const BackendOptions& options() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace pool
