// BackendConnection implementation (see the header for the life cycle).
// I/O style: wait for readiness, then non-blocking read_some/write_some directly. This avoids
// Asio's speculative read (one wasted EAGAIN system call per request) and lets one write
// carry every request queued during a loop turn.
#include "pool/backend_connection.h"

#include <boost/asio.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

#include "pool/ring_queue.h"
#include "pool/tls_filter.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/resp_writer.h"

namespace pool {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kShrinkAbove = 1024 * 1024;
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

struct Waiter {
  ReplySink* sink;
  uint64_t tag = 0;
  Clock::time_point deadline;
};
}  // namespace

struct BackendConnection::Impl : std::enable_shared_from_this<Impl> {
  enum class State { Idle, Connecting, Up, Backoff, Stopped };

  Impl(asio::io_context& io, BackendOptions o, BackendCounters* c, BatchHooks* h)
      : ioc(io), opt(std::move(o)), counters(c), hooks(h), socket(io), timeoutTimer(io), retryTimer(io) {}

  asio::io_context& ioc;
  BackendOptions opt;
  BackendCounters* counters;
  BatchHooks* hooks;
  ReplySink* pushSink = nullptr;  // pub/sub: frames without a waiter
  BackendConnection* owner = nullptr;  // null once the owner is gone
  tcp::socket socket;
  asio::steady_timer timeoutTimer;
  asio::steady_timer retryTimer;
  State state = State::Idle;
  uint64_t generation = 0;  // bumped on every reset so stale completions are ignored
  std::string out;
  size_t outOffset = 0;
  bool dirtyRegistered = false;
  bool listed = false;  // in the owner's dirty list until its flush() (reset() keeps it there)
  bool writeWaiting = false;
  bool timerArmed = false;
  RingQueue<Waiter> waiters{64};
  std::vector<char> in = std::vector<char>(kReadChunk);
  size_t inStart = 0;
  size_t inEnd = 0;
  resp::ReplyScanner scanner;
  Clock::duration backoff = kMinBackoff;
  std::unique_ptr<TlsFilter> tls;  // while connected with TLS
  std::vector<char> cipherIn;      // TLS: ciphertext read from the socket

  // Checks the reply to the AUTH every connection starts with.
  struct AuthSink final : ReplySink {
    Impl* impl = nullptr;
    void onReply(uint64_t, std::string_view frame) override {
      if (frame.empty() || frame[0] != '-') return;
      impl->counters->onAuthFailed(frame.substr(1, frame.size() - 3));
      impl->reset(BackendError::Unavailable);
    }
    void onError(uint64_t, BackendError) override {}
  } authSink;
  void queueAuth();

  void connect();
  void onConnected(uint64_t gen, const boost::system::error_code& ec);
  void reset(BackendError err);
  void failAll(BackendError err);
  void scheduleFlush();
  void flush();
  void armRead();
  void onRead(size_t n);
  bool drainSocket();
  bool processReplies();
  bool readTls(size_t n);
  void armTimeout();
  void onTimeout(uint64_t gen);
  bool ensureReadSpace();
};

void BackendConnection::Impl::connect() {
  state = State::Connecting;
  const uint64_t gen = ++generation;
  boost::system::error_code ec;
  tcp::endpoint ep;
  auto addr = asio::ip::make_address(opt.host, ec);
  if (ec) {
    // Hostnames are resolved here, off the request path (connects are rare).
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(opt.host, std::to_string(opt.port), ec);
    if (ec || results.empty()) return reset(BackendError::Unavailable);
    ep = *results.begin();
  } else {
    ep = tcp::endpoint(addr, opt.port);
  }
  socket = tcp::socket(ioc);
  queueAuth();
  auto self = shared_from_this();
  retryTimer.expires_after(std::chrono::milliseconds(opt.connectTimeoutMs));
  retryTimer.async_wait([self, gen](const boost::system::error_code& e) {
    if (!e && gen == self->generation && self->state == State::Connecting)
      self->reset(BackendError::Unavailable);
  });
  socket.async_connect(ep, [self, gen](const boost::system::error_code& e) {
    self->onConnected(gen, e);
  });
}

// Before anything else is queued on a fresh connection, so it is the first request sent.
// AUTH, then SELECT when a database is set; a refusal of either makes the shard unusable.
void BackendConnection::Impl::queueAuth() {
  authSink.impl = this;
  const std::string db = std::to_string(opt.db);
  std::vector<std::vector<std::string_view>> prelude;
  if (!opt.password.empty()) {
    prelude.push_back({"AUTH"});
    if (!opt.username.empty()) prelude.back().push_back(opt.username);
    prelude.back().push_back(opt.password);
  }
  if (opt.db != 0) prelude.push_back({"SELECT", db});
  for (const auto& args : prelude) {
    resp::appendCommand(out, args);
    Waiter& w = waiters.pushSlot();
    w.sink = &authSink;
    w.tag = 0;
    w.deadline = Clock::now() + std::chrono::milliseconds(opt.connectTimeoutMs + opt.timeoutMs);
  }
}

void BackendConnection::Impl::onConnected(uint64_t gen, const boost::system::error_code& ec) {
  if (gen != generation || state != State::Connecting) return;
  retryTimer.cancel();
  if (ec) return reset(BackendError::Unavailable);
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.non_blocking(true, ignored);
  state = State::Up;
  backoff = kMinBackoff;
  counters->onConnected(true);
  if (opt.tls) {
    tls = std::make_unique<TlsFilter>(opt.tls, opt.tlsName);  // queues the ClientHello
    cipherIn.resize(kReadChunk / 4);
  }
  armRead();
  if (outOffset < out.size() || tls) scheduleFlush();
}

void BackendConnection::Impl::failAll(BackendError err) {
  // Move the waiters out first: a sink may react by sending again (and fail fast).
  RingQueue<Waiter> failed = std::move(waiters);
  waiters = RingQueue<Waiter>(64);
  while (!failed.empty()) {
    Waiter w = std::move(failed.front());
    failed.pop();
    counters->onError(err);
    w.sink->onError(w.tag, err);
  }
}

void BackendConnection::Impl::reset(BackendError err) {
  const bool wasUp = state == State::Up;
  ++generation;
  boost::system::error_code ignored;
  socket.close(ignored);
  timeoutTimer.cancel();
  timerArmed = false;
  out.clear();
  outOffset = 0;
  inStart = inEnd = 0;
  if (tls && err != BackendError::Closed && !tls->error().empty()) {
    counters->onAuthFailed("TLS: " + tls->error());
  }
  tls.reset();
  scanner.reset();
  writeWaiting = false;
  dirtyRegistered = false;
  if (state != State::Stopped) state = State::Backoff;
  if (wasUp) counters->onConnected(false);
  failAll(err);
  if (state == State::Stopped) return;
  if (pushSink != nullptr) pushSink->onError(0, err);  // a stream lost: its owner must know
  const uint64_t gen = generation;
  retryTimer.expires_after(backoff);
  backoff = std::min<Clock::duration>(backoff * 2, kMaxBackoff);
  auto self = shared_from_this();
  retryTimer.async_wait([self, gen](const boost::system::error_code& e) {
    if (!e && gen == self->generation && self->state == State::Backoff) self->connect();
  });
}

void BackendConnection::Impl::scheduleFlush() {
  if (dirtyRegistered || writeWaiting || state != State::Up || owner == nullptr) return;
  dirtyRegistered = true;
  listed = true;
  hooks->backendDirty(owner);
}

void BackendConnection::Impl::flush() {
  if (state != State::Up || writeWaiting) return;
  if (tls && outOffset < out.size()) {
    if (!tls->writePlain(std::string_view(out).substr(outOffset))) return reset(BackendError::Protocol);
    out.clear();
    outOffset = 0;
  }
  std::string& buf = tls ? tls->cipher() : out;
  size_t& offset = tls ? tls->cipherSent() : outOffset;
  while (offset < buf.size()) {
    boost::system::error_code ec;
    size_t n = socket.write_some(asio::buffer(buf.data() + offset, buf.size() - offset), ec);
    if (ec == asio::error::would_block) {
      writeWaiting = true;
      const uint64_t gen = generation;
      socket.async_wait(tcp::socket::wait_write,
                        [self = shared_from_this(), gen](const boost::system::error_code& e) {
                          if (gen != self->generation) return;
                          self->writeWaiting = false;
                          if (e) return self->reset(BackendError::Closed);
                          self->flush();
                        });
      return;
    }
    if (ec) return reset(BackendError::Closed);
    offset += n;
  }
  buf.clear();
  offset = 0;
  if (buf.capacity() > kShrinkAbove) buf.shrink_to_fit();
}

bool BackendConnection::Impl::ensureReadSpace() {
  if (in.size() - inEnd >= kReadChunk / 4) return true;
  if (inStart > 0) {
    std::memmove(in.data(), in.data() + inStart, inEnd - inStart);
    inEnd -= inStart;
    inStart = 0;
  }
  // A frame larger than the buffer: grow geometrically (the scanner bounds bulk sizes).
  if (in.size() - inEnd < kReadChunk / 4) in.resize(in.size() * 2);
  return true;
}

// async_read_some rather than async_wait: after a short read Asio neither retries the read
// speculatively nor re-arms epoll (EPOLL_CTL_MOD), so a reply costs one epoll_wait + one recv.
void BackendConnection::Impl::armRead() {
  ensureReadSpace();
  const uint64_t gen = generation;
  auto target = tls ? asio::buffer(cipherIn) : asio::buffer(in.data() + inEnd, in.size() - inEnd);
  socket.async_read_some(target,
                         [self = shared_from_this(), gen](const boost::system::error_code& e, size_t n) {
                           if (gen != self->generation) return;
                           if (e) return self->reset(BackendError::Closed);
                           self->onRead(n);
                         });
}

// TLS: `n` bytes of ciphertext in cipherIn; decrypt them (and whatever else the socket
// has) into `in`, answer handshake messages, then frame replies as for plain TCP.
bool BackendConnection::Impl::readTls(size_t n) {
  for (;;) {
    if (!tls->feed(cipherIn.data(), n) || !tls->readPlain(in, inEnd)) {
      // A refused certificate or a broken TLS session: the shard is not usable (the cause
      // is logged by reset()).
      reset(tls->handshakeDone() ? BackendError::Protocol : BackendError::Unavailable);
      return false;
    }
    if (n < cipherIn.size()) break;
    boost::system::error_code ec;
    n = socket.read_some(asio::buffer(cipherIn), ec);
    if (ec == asio::error::would_block) break;
    if (ec) return reset(BackendError::Closed), false;
  }
  if (tls->cipherPending() > 0 || outOffset < out.size()) flush();
  return state == State::Up;
}

void BackendConnection::Impl::onRead(size_t n) {
  const uint64_t gen = generation;
  if (tls) {
    hooks->beginBatch();
    const bool ok = readTls(n) && gen == generation && processReplies();
    hooks->endBatch();
    if (ok && gen == generation) armRead();
    return;
  }
  const bool filled = inEnd + n == in.size();
  inEnd += n;
  hooks->beginBatch();
  bool ok = processReplies() && (!filled || drainSocket());
  hooks->endBatch();
  if (in.size() > kShrinkAbove && inStart == inEnd) {
    in.assign(kReadChunk, 0);
    inStart = inEnd = 0;
  }
  if (ok && gen == generation) armRead();
}

// The read filled the buffer: more bytes may be waiting; take them without waiting.
bool BackendConnection::Impl::drainSocket() {
  const uint64_t gen = generation;
  for (;;) {
    ensureReadSpace();
    const size_t space = in.size() - inEnd;
    boost::system::error_code ec;
    const size_t n = socket.read_some(asio::buffer(in.data() + inEnd, space), ec);
    if (ec == asio::error::would_block) return true;
    if (ec) {
      reset(BackendError::Closed);
      return false;
    }
    inEnd += n;
    if (!processReplies() || gen != generation) return false;
    if (n < space) return true;
  }
}

bool BackendConnection::Impl::processReplies() {
  const uint64_t gen = generation;
  while (inStart < inEnd) {
    auto r = scanner.scan(std::string_view(in.data() + inStart, inEnd - inStart));
    if (r.status == resp::ParseStatus::Incomplete) break;
    if (r.status == resp::ParseStatus::Error || (waiters.empty() && pushSink == nullptr)) {
      reset(BackendError::Protocol);  // garbage or an unsolicited reply: framing is lost
      return false;
    }
    if (waiters.empty()) {
      pushSink->onReply(0, std::string_view(in.data() + inStart, r.consumed));
      if (gen != generation) return false;
      inStart += r.consumed;
      continue;
    }
    Waiter w = std::move(waiters.front());
    waiters.pop();
    w.sink->onReply(w.tag, std::string_view(in.data() + inStart, r.consumed));
    if (gen != generation) return false;
    inStart += r.consumed;
  }
  if (inStart == inEnd) inStart = inEnd = 0;
  return true;
}

void BackendConnection::Impl::armTimeout() {
  if (timerArmed || waiters.empty() || opt.timeoutMs == 0) return;
  timerArmed = true;
  timeoutTimer.expires_at(waiters.front().deadline);
  const uint64_t gen = generation;
  timeoutTimer.async_wait([self = shared_from_this(), gen](const boost::system::error_code& e) {
    if (e || gen != self->generation) return;
    self->onTimeout(gen);
  });
}

void BackendConnection::Impl::onTimeout(uint64_t) {
  timerArmed = false;
  if (waiters.empty()) return;
  // Replies are matched by order, so one late reply means the connection is unusable.
  if (waiters.front().deadline <= Clock::now()) return reset(BackendError::Timeout);
  armTimeout();
}

BackendConnection::BackendConnection(asio::io_context& ioc, BackendOptions options,
                                     BackendCounters* counters, BatchHooks* hooks)
    : impl_(std::make_shared<Impl>(ioc, std::move(options), counters, hooks)) {
  impl_->owner = this;
}

BackendConnection::~BackendConnection() {
  stop();
  // A dedicated link dies with its session, possibly between being marked dirty and the
  // owner's end-of-turn flush: the owner must not flush a freed connection.
  if (impl_->listed) impl_->hooks->backendGone(this);
  impl_->owner = nullptr;
}

void BackendConnection::flush() {
  impl_->dirtyRegistered = false;
  impl_->listed = false;
  impl_->flush();
}

void BackendConnection::start() {
  if (impl_->state == Impl::State::Idle) impl_->connect();
}

void BackendConnection::stop() {
  if (impl_->state == Impl::State::Stopped) return;
  impl_->state = Impl::State::Stopped;
  impl_->retryTimer.cancel();
  impl_->reset(BackendError::Closed);
}

std::optional<BackendError> BackendConnection::send(std::string_view frame,
                                                    ReplySink* sink, uint64_t tag) {
  Impl& d = *impl_;
  if (d.state == Impl::State::Backoff || d.state == Impl::State::Stopped ||
      d.state == Impl::State::Idle) {
    d.counters->onError(BackendError::Unavailable);
    return BackendError::Unavailable;
  }
  const size_t unsent = d.out.size() - d.outOffset + (d.tls ? d.tls->cipherPending() : 0);
  if (d.waiters.size() >= d.opt.maxPending || unsent + frame.size() > d.opt.maxBufferBytes) {
    d.counters->onError(BackendError::Overloaded);
    return BackendError::Overloaded;
  }
  d.out.append(frame);
  Waiter& w = d.waiters.pushSlot();
  w.sink = sink;
  w.tag = tag;
  w.deadline = Clock::now() + std::chrono::milliseconds(d.opt.timeoutMs);
  d.counters->onRequest();
  d.armTimeout();
  d.scheduleFlush();
  return std::nullopt;
}

void BackendConnection::updateOptions(const BackendOptions& options) {
  Impl& d = *impl_;
  const bool reconnect = options.host != d.opt.host || options.port != d.opt.port ||
                         options.username != d.opt.username || options.password != d.opt.password ||
                         options.tls != d.opt.tls || options.tlsName != d.opt.tlsName || options.db != d.opt.db;
  d.opt = options;
  if (reconnect && d.state != Impl::State::Stopped && d.state != Impl::State::Idle) {
    d.backoff = kMinBackoff;
    d.reset(BackendError::Closed);
  }
}

void BackendConnection::retryNow() {
  Impl& d = *impl_;
  if (d.state != Impl::State::Backoff) return;
  d.backoff = kMinBackoff;
  d.connect();  // re-arms retryTimer, which cancels the backoff wait
}

bool BackendConnection::sendUntracked(std::string_view frame) {
  Impl& d = *impl_;
  if (d.state == Impl::State::Backoff || d.state == Impl::State::Stopped || d.state == Impl::State::Idle) {
    return false;
  }
  d.out.append(frame);
  d.scheduleFlush();
  return true;
}

void BackendConnection::setPushSink(ReplySink* sink) { impl_->pushSink = sink; }

bool BackendConnection::isUp() const { return impl_->state == Impl::State::Up; }
uint64_t BackendConnection::generation() const { return impl_->generation; }
bool BackendConnection::usable() const {
  return impl_->state == Impl::State::Up || impl_->state == Impl::State::Connecting;
}
size_t BackendConnection::pending() const { return impl_->waiters.size(); }
const BackendOptions& BackendConnection::options() const { return impl_->opt; }

}  // namespace pool
