// InvalidationSubscriber (see the header for the protocol steps).
#include "proxy/server/invalidation_subscriber.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "proxy/migration/shard_link.h"

namespace proxy {

namespace {
using Clock = std::chrono::steady_clock;
constexpr uint32_t kConnectTimeoutMs = 1000;
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(2000);
constexpr int kPollMs = 100;

std::string_view text(const redisReply* r) {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string_view(r->str, r->len)
             : std::string_view();
}
}  // namespace

InvalidationSubscriber::InvalidationSubscriber(mig::ShardEndpoint endpoint, uint32_t heartbeatMs, Events events)
    : endpoint_(std::move(endpoint)), heartbeatMs_(std::max(50u, heartbeatMs)), events_(std::move(events)) {
  thread_ = std::thread([this] { run(); });
}

InvalidationSubscriber::~InvalidationSubscriber() {
  stop_ = true;
  thread_.join();
}

void InvalidationSubscriber::run() {
  Clock::duration backoff = kMinBackoff;
  while (!stop_) {
    const auto started = Clock::now();
    const std::string why = session();
    if (stop_) return;
    events_.lost(why);
    if (Clock::now() - started > std::chrono::seconds(5)) backoff = kMinBackoff;  // it was up for a while
    for (auto waited = Clock::duration(); waited < backoff && !stop_; waited += std::chrono::milliseconds(kPollMs)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
    }
    backoff = std::min<Clock::duration>(backoff * 2, kMaxBackoff);
  }
}

std::string InvalidationSubscriber::session() {
  mig::ShardLink link;
  std::string error;
  if (!link.connect(endpoint_, kConnectTimeoutMs, &error)) return "connect: " + error;
  // Unique per connection: data connections check with CLIENT LIST ID that their redirect
  // target is this very connection (ids restart from 1 when a shard restarts).
  static std::atomic<uint64_t> sessions{0};
  const std::string name = "ringproxy-inv-" + std::to_string(::getpid()) + "-" + std::to_string(++sessions);
  mig::ReplyPtr named = link.command({"CLIENT", "SETNAME", name});
  if (!named || !mig::isStatus(named.get(), "OK")) return "CLIENT SETNAME: " + (named ? mig::describeReply(named.get()) : link.error());
  mig::ReplyPtr id = link.command({"CLIENT", "ID"});
  if (!id || id->type != REDIS_REPLY_INTEGER) return "CLIENT ID: " + (id ? mig::describeReply(id.get()) : link.error());
  mig::ReplyPtr sub = link.command({"SUBSCRIBE", "__redis__:invalidate"});
  if (!sub || sub->type != REDIS_REPLY_ARRAY) return "SUBSCRIBE: " + (sub ? mig::describeReply(sub.get()) : link.error());
  events_.ready(id->integer, name);

  redisContext* c = link.context();
  const auto heartbeat = std::chrono::milliseconds(heartbeatMs_);
  auto lastPong = Clock::now();
  auto pingSent = Clock::now();
  bool pingOut = false;
  while (!stop_) {
    const auto now = Clock::now();
    if (!pingOut && now - lastPong >= heartbeat) {
      redisAppendCommand(c, "PING");
      int done = 0;
      while (done == 0) {
        if (redisBufferWrite(c, &done) == REDIS_ERR) return std::string("write: ") + c->errstr;
      }
      pingOut = true;
      pingSent = now;
    }
    if (pingOut && now - pingSent > 3 * heartbeat) return "no reply to PING within 3 heartbeats";
    pollfd p{c->fd, POLLIN, 0};
    const int n = ::poll(&p, 1, kPollMs);
    if (n < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
    if (n <= 0) continue;
    if (redisBufferRead(c) == REDIS_ERR) return std::string("read: ") + c->errstr;
    for (;;) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(c, &raw) == REDIS_ERR) return "unreadable reply";
      if (raw == nullptr) break;
      const mig::ReplyPtr reply(static_cast<redisReply*>(raw));
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) continue;
      const std::string_view kind = text(reply->element[0]);
      if (kind == "pong") {
        pingOut = false;
        lastPong = Clock::now();
      } else if (kind == "message" && reply->elements >= 3) {
        const redisReply* payload = reply->element[2];
        if (payload->type == REDIS_REPLY_NIL) {
          events_.flushAll();
        } else if (payload->type == REDIS_REPLY_ARRAY) {
          std::vector<std::string> keys;
          keys.reserve(payload->elements);
          for (size_t i = 0; i < payload->elements; ++i) keys.emplace_back(text(payload->element[i]));
          events_.invalidate(std::move(keys));
        }
      }
    }
  }
  return "stopped";
}

}  // namespace proxy
