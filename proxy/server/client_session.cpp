// ClientSession: reading, parsing, dispatching and in-order replies for one client.
// I/O style as in pool::BackendConnection: wait for readiness, then non-blocking
// read_some/write_some, so a request costs no speculative EAGAIN system call.
#include "proxy/server/client_session.h"

#include <boost/asio.hpp>

#include <algorithm>
#include <cstring>

#include "proxy/command/command_table.h"
#include "proxy/errors.h"
#include "proxy/log.h"
#include "proxy/resp/resp_writer.h"
#include "proxy/server/blocked_registry.h"
#include "proxy/server/fanout.h"
#include "proxy/server/worker.h"

namespace proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr size_t kMinPartialBuffer = 16 * 1024;
constexpr size_t kSmallRead = 512;
constexpr size_t kShrinkAbove = 1024 * 1024;

resp::Limits limitsFrom(const config::LimitsConfig& l) {
  resp::Limits r;
  r.maxBulkBytes = l.maxBulkBytes;
  r.maxArgs = l.maxArgs;
  return r;
}
}  // namespace

ClientSession::ClientSession(Worker& worker, tcp::socket socket, uint64_t id)
    : worker_(worker),
      socket_(std::move(socket)),
      id_(id),
      parser_(limitsFrom(worker.snapshot().config->limits)) {
  local_.clientId = id;
  migrateSink_.owner = this;
  if (worker.listenerTls()) tls_ = std::make_unique<pool::TlsFilter>(worker.listenerTls());
  authenticated_ = !worker.authenticator().required();
  parser_.setAuthenticated(authenticated_);
  boost::system::error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  if (!ec) local_.addr = peer.address().to_string() + ":" + std::to_string(peer.port());
}

// The dedicated connection dies with the session; its CLIENT ID sink must not call back
// into a session that is being destroyed.
ClientSession::~ClientSession() {
  linkId_.owner = nullptr;
  link_.reset();
}

void ClientSession::start() {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
  worker_.cells().clients.add(1);
  lastActive_ = Clock::now();
  armRead();
}

// Two ways to wait for a request:
//  - busy (requests in flight): async_read_some into a small buffer. After a short read
//    Asio neither retries the read speculatively nor re-arms epoll, so a request costs one
//    epoll_wait + one recv.
//  - quiet (nothing in flight, nothing buffered): async_wait, which needs no buffer, so an
//    idle connection holds none; it costs one epoll_ctl when the client speaks again.
void ClientSession::armRead() {
  // While blocked (BLPOP...) keep reading, to notice a client that hangs up, but only a
  // bounded amount; requests read meanwhile wait until the blocking command returns.
  const bool blockedButListening = blocked_ && inLen_ < kMinPartialBuffer * 4;
  if (readArmed_ || closed_ || stopReading_ || (paused_ && !blockedButListening)) return;
  readArmed_ = true;
  if (inLen_ == 0 && slots_.empty() && inflight_ == 0) return waitQuiet();
  // TLS: ciphertext always lands in small_ first. Blocked: so do the bytes read behind the
  // held requests (onRead appends them to in_). The blocking command's reply resumes
  // parsing (resumeInput), which consumes in_ while this read is still pending: a read
  // aimed at in_ + inLen_ would land behind bytes that are gone, and the stale bytes in
  // front of it would be parsed, and run, again.
  readingSmall_ = inLen_ == 0 || tls_ || blocked_;
  if (readingSmall_ && !small_) small_ = std::make_unique<char[]>(kSmallRead);
  if (!readingSmall_ && in_.size() - inLen_ < kMinPartialBuffer / 2) {
    in_.resize(std::max(in_.size() * 2, kMinPartialBuffer));
  }
  auto buffer = readingSmall_ ? asio::buffer(small_.get(), kSmallRead)
                              : asio::buffer(in_.data() + inLen_, in_.size() - inLen_);
  socket_.async_read_some(buffer, [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
    self->readArmed_ = false;
    if (self->closed_ || self->stopReading_) return;
    if (ec) return self->close();  // EOF or reset: like Redis, nothing more is sent
    self->onRead(n);
  });
}

void ClientSession::waitQuiet() {
  small_.reset();
  socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
    self->readArmed_ = false;
    if (self->closed_ || self->stopReading_) return;
    if (ec) return self->close();
    self->small_ = std::make_unique<char[]>(kSmallRead);
    boost::system::error_code rec;
    const size_t n = self->socket_.read_some(asio::buffer(self->small_.get(), kSmallRead), rec);
    if (rec == asio::error::would_block) return self->armRead();
    if (rec) return self->close();
    self->readingSmall_ = true;
    self->onRead(n);
  });
}

void ClientSession::onRead(size_t n) {
  batchStart_ = Clock::now();
  lastActive_ = batchStart_;
  worker_.beginBatch();
  inReadHandler_ = true;
  if (tls_) {
    readTls(n);
  } else if (readingSmall_ && inLen_ > 0) {  // read while blocked (see armRead): behind what is held
    appendInput(small_.get(), n);
    consumeBuffered(processInput(in_.data(), inLen_));
  } else if (readingSmall_) {
    readIntoScratch(n);
  } else {
    const bool filled = inLen_ + n == in_.size();
    inLen_ += n;
    consumeBuffered(processInput(in_.data(), inLen_));
    if (filled && !closed_ && !paused_ && !stopReading_) readMore();
  }
  if (inLen_ > worker_.snapshot().config->limits.maxRequestBytes) close();  // query buffer limit
  inReadHandler_ = false;
  flushOutput();
  worker_.endBatch();
  armRead();
}

// Data arrived in the small buffer. If it filled it, more is likely waiting: move it to the
// worker's scratch buffer and read the rest behind it. Complete requests are parsed in
// place; only a trailing partial request is copied into this session's own buffer.
void ClientSession::readIntoScratch(size_t n) {
  const char* data = small_.get();
  size_t len = n;
  if (n == kSmallRead) {
    std::vector<char>& scratch = worker_.scratch();
    std::memcpy(scratch.data(), small_.get(), n);
    boost::system::error_code ec;
    len += socket_.read_some(asio::buffer(scratch.data() + n, scratch.size() - n), ec);
    if (ec && ec != asio::error::would_block) return close();
    data = scratch.data();
  }
  const size_t used = processInput(data, len);
  if (used < len && !closed_) keepLeftover(data + used, len - used);
}

// TLS: `n` bytes of ciphertext in small_; whatever else the socket holds is read through
// the worker's scratch buffer. Plaintext collects in the partial-request buffer and is
// parsed from there (no zero-copy path: the plaintext exists only once decrypted).
void ClientSession::readTls(size_t n) {
  const char* data = small_.get();
  size_t len = n;
  size_t capacity = kSmallRead;
  for (;;) {
    if (!tls_->feed(data, len) || !tls_->readPlain(in_, inLen_)) {
      if (!tls_->closed()) logx::info("client TLS failed id=" + std::to_string(id_) + " addr=" + local_.addr +
                                      " reason=\"" + tls_->error() + "\"");
      return close();
    }
    if (len < capacity) break;
    std::vector<char>& scratch = worker_.scratch();
    boost::system::error_code ec;
    len = socket_.read_some(asio::buffer(scratch), ec);
    if (ec == asio::error::would_block) break;
    if (ec) return close();
    data = scratch.data();
    capacity = scratch.size();
  }
  consumeBuffered(processInput(in_.data(), inLen_));
}

// The partial-request buffer filled up: keep reading a large request without waiting.
void ClientSession::readMore() {
  for (;;) {
    if (in_.size() - inLen_ < kMinPartialBuffer / 2) in_.resize(in_.size() * 2);
    const size_t space = in_.size() - inLen_;
    boost::system::error_code ec;
    const size_t n = socket_.read_some(asio::buffer(in_.data() + inLen_, space), ec);
    if (ec == asio::error::would_block) return;
    if (ec) return close();
    inLen_ += n;
    consumeBuffered(processInput(in_.data(), inLen_));
    if (n < space || closed_ || paused_ || stopReading_) return;
    if (inLen_ > worker_.snapshot().config->limits.maxRequestBytes) return;
  }
}

void ClientSession::keepLeftover(const char* data, size_t len) {
  if (in_.size() < std::max(len * 2, kMinPartialBuffer)) in_.resize(std::max(len * 2, kMinPartialBuffer));
  std::memcpy(in_.data(), data, len);
  inLen_ = len;
}

void ClientSession::appendInput(const char* data, size_t len) {
  if (in_.size() - inLen_ < len) in_.resize(std::max({in_.size() * 2, inLen_ + len, kMinPartialBuffer}));
  std::memcpy(in_.data() + inLen_, data, len);
  inLen_ += len;
}

void ClientSession::consumeBuffered(size_t used) {
  if (used == 0) return;
  if (used < inLen_) std::memmove(in_.data(), in_.data() + used, inLen_ - used);
  inLen_ -= used;
  if (inLen_ == 0 && in_.size() > kMinPartialBuffer) {
    std::vector<char>().swap(in_);  // idle connections keep no buffer
  }
}

size_t ClientSession::processInput(const char* data, size_t len) {
  size_t off = 0;
  while (off < len && !closed_ && !stopReading_) {
    if (blocked_ || overCaps()) {
      paused_ = true;
      break;
    }
    const resp::ParseResult r = parser_.parse(std::string_view(data + off, len - off));
    if (r.status == resp::ParseStatus::Incomplete) break;
    if (r.status == resp::ParseStatus::Error) {
      protocolError();
      return len;
    }
    if (parser_.argc() > 0 && !dispatch(std::string_view(data + off, r.consumed))) break;
    off += r.consumed;
  }
  return off;
}

void ClientSession::protocolError() {
  worker_.cells().protocolErrors.add();
  std::string text = "ERR " + parser_.errorText();
  completeError(reserveSlot(static_cast<uint32_t>(worker_.cells().commandCount())), text);
  stopReading_ = true;
  closeAfterFlush_ = true;
}

std::string& ClientSession::encoded() { return worker_.cacheScratch().encoded; }
std::vector<size_t>& ClientSession::keyIndex() { return worker_.cacheScratch().keyIndex; }
std::vector<uint32_t>& ClientSession::keyShard() { return worker_.cacheScratch().keyShard; }
std::vector<int32_t>& ClientSession::partOfShard() { return worker_.cacheScratch().partOfShard; }
std::vector<uint32_t>& ClientSession::keysPerPart() { return worker_.cacheScratch().keysPerPart; }

uint64_t ClientSession::reserveSlot(uint32_t commandIndex) {
  Slot& s = slots_.pushSlot();
  s.done = false;
  s.command = commandIndex;
  s.start = batchStart_;
  s.data.clear();
  s.cache.reset();
  Worker::CacheScratch& scratch = worker_.cacheScratch();
  if (!scratch.pendingWrites.empty() || !scratch.pendingCopyWrites.empty()) {
    s.cache = std::make_unique<SlotCache>();
    s.cache->writeBuckets.swap(scratch.pendingWrites);
    s.cache->copyWrites.swap(scratch.pendingCopyWrites);
  }
  return nextSeq_++;
}

void ClientSession::complete(uint64_t seq, std::string_view bytes) {
  if (blocked_ && seq == blockedSeq_) {
    blocked_ = false;
    BlockedRegistry::instance().remove(id_);
  }
  const size_t idx = static_cast<size_t>(seq - headSeq_);
  if (SlotCache* c = slots_.at(idx).cache.get()) {
    if (!c->writeBuckets.empty()) bumpWrites(c->writeBuckets);  // answered: see WriteStamps
    if (!c->copyWrites.empty()) endCopyWrites(c->copyWrites);
  }
  if (idx != 0) {
    Slot& s = slots_.at(idx);
    s.data.assign(bytes.data(), bytes.size());
    s.done = true;
    return;
  }
  if (!closed_) out_.append(bytes.data(), bytes.size());
  finishHead();
  while (!slots_.empty() && slots_.front().done) {
    if (!closed_) out_.append(slots_.front().data);
    finishHead();
  }
  markDirty();
}

void ClientSession::completeError(uint64_t seq, std::string_view text) {
  std::string bytes;
  bytes.reserve(text.size() + 3);
  resp::appendError(bytes, text);
  complete(seq, bytes);
}

void ClientSession::finishHead() {
  worker_.cells().observeDuration(Clock::now() - slots_.front().start);
  slots_.front().data.clear();
  slots_.pop();
  ++headSeq_;
}

void ClientSession::completeFanout(uint64_t seq, std::string_view reply) {
  --inflight_;
  complete(seq, reply);
  requestDone();
}

void ClientSession::onReply(uint64_t seq, std::string_view frame) {
  --inflight_;
  if ((seq >> 61) != 0) {
    cacheAuxReply(seq, frame);
  } else {
    if (filling(seq)) finishFill(*slots_.at(static_cast<size_t>(seq - headSeq_)).cache, frame);
    complete(seq, frame);
  }
  requestDone();
}

// After a backend answered: release a closed session, or let held requests continue.
void ClientSession::requestDone() {
  if (closed_) {
    if (inflight_ == 0) worker_.releaseSession(this);
    return;
  }
  if (paused_) maybeResume();
}

void ClientSession::onError(uint64_t seq, pool::BackendError error) {
  --inflight_;
  if ((seq >> 61) != 0) {  // CLIENT CACHING / PTTL / SELECT: the read itself fails too
    if (((seq >> 61) & 7) == 1) copyReply(seq, {}, true);  // a copy read: try the owner
    return requestDone();
  }
  if (filling(seq)) finishFill(*slots_.at(static_cast<size_t>(seq - headSeq_)).cache, "-");
  const std::string& shard = worker_.shardName(slots_.at(static_cast<size_t>(seq - headSeq_)).shard);
  completeError(seq, backendErrorText(shard, error));
  requestDone();
}

void ClientSession::markDirty() {
  if (inReadHandler_ || dirty_ || closed_) return;  // the read handler flushes at its end
  dirty_ = true;
  worker_.markDirty(this);
}

// Reading pauses at half the output cap; past the whole cap the client is closed (see
// flushOutput), as Redis closes clients over their output buffer limit.
bool ClientSession::overCaps() const {
  const auto& l = worker_.snapshot().config->limits;
  return slots_.size() >= l.clientMaxPending || unsentBytes() >= l.clientMaxOutputBytes / 2;
}

// Called by the worker's idle sweep: a client with nothing in flight, not blocked and not
// subscribed, silent for longer than limits.idle_timeout_s, is closed (Redis's `timeout`).
bool ClientSession::closeIfIdle(Clock::time_point now, std::chrono::seconds timeout) {
  if (closed_ || inflight_ > 0 || !slots_.empty() || blocked_ || (pubsub_ && pubsub_->active)) return false;
  if (now - lastActive_ < timeout) return false;
  worker_.cells().clientsClosed[metrics::kCloseIdleTimeout].add();
  close();
  return true;
}

void ClientSession::maybeResume() {
  if (!paused_ || closed_ || blocked_ || waitingLinkId_ || migratesOutstanding_ > 0 || heldForSnapshot_ ||
      copyWaiting_) {
    return;
  }
  if (waitingBarrier_ && inflight_ > 0) return;
  const auto& l = worker_.snapshot().config->limits;
  if (slots_.size() > l.clientMaxPending / 2 || unsentBytes() > l.clientMaxOutputBytes / 4) return;
  paused_ = false;
  waitingBarrier_ = false;
  // Posted: we may be inside a backend's reply loop; parse the held bytes from a clean stack.
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->resumeInput(); });
}

void ClientSession::resumeInput() {
  if (closed_ || paused_) return;
  batchStart_ = Clock::now();
  worker_.beginBatch();
  inReadHandler_ = true;
  if (inLen_ > 0) consumeBuffered(processInput(in_.data(), inLen_));
  inReadHandler_ = false;
  flushOutput();
  worker_.endBatch();
  armRead();
}

// Checked on every flush attempt, also while a write wait is pending: replies keep
// arriving for a client that does not read, and only this check bounds them.
bool ClientSession::outputOverLimit() {
  if (unsentBytes() <= worker_.snapshot().config->limits.clientMaxOutputBytes) return false;
  logx::warn("closing client id=" + std::to_string(id_) + " addr=" + local_.addr +
             ": output buffer over limits.client_max_output_bytes (it does not read its replies)");
  worker_.cells().clientsClosed[metrics::kCloseOutputLimit].add();
  close();
  return true;
}

void ClientSession::flushOutput() {
  dirty_ = false;
  if (closed_ || outputOverLimit() || writeWaiting_) return;
  if (tls_ && outSent_ < out_.size()) {
    if (!tls_->writePlain(std::string_view(out_).substr(outSent_))) return close();
    out_.clear();
    outSent_ = 0;
  }
  std::string& buf = tls_ ? tls_->cipher() : out_;
  size_t& sent = tls_ ? tls_->cipherSent() : outSent_;
  while (sent < buf.size()) {
    boost::system::error_code ec;
    const size_t n = socket_.write_some(asio::buffer(buf.data() + sent, buf.size() - sent), ec);
    if (ec == asio::error::would_block) {
      writeWaiting_ = true;
      socket_.async_wait(tcp::socket::wait_write,
                         [self = shared_from_this()](const boost::system::error_code& e) {
                           self->writeWaiting_ = false;
                           if (e) return self->close();
                           self->flushOutput();
                         });
      return;
    }
    if (ec) return close();
    sent += n;
  }
  buf.clear();
  sent = 0;
  if (buf.capacity() > kShrinkAbove) std::string().swap(buf);
  if (closeAfterFlush_ && slots_.empty()) return close();
  maybeResume();
}

void ClientSession::shutdown() {
  stopReading_ = true;
  closeAfterFlush_ = true;
  if (slots_.empty() && unsentBytes() == 0) close();
}

void ClientSession::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (blocked_) BlockedRegistry::instance().remove(id_);
  if (copyGatePassed_) endCopyWrites(copyKeys_);  // held write never sent (copyWaiting_: see copiesDeleted)
  if (link_) link_->stop();  // its requests fail now; their callbacks settle inflight_
  worker_.cells().clients.add(-1);
  out_.clear();
  outSent_ = 0;
  if (inflight_ == 0) worker_.releaseSession(this);
}

}  // namespace proxy
