// ShardLink and the reply helpers (proxy/migration/shard_link.h), over hiredis 0.14's
// blocking API. Called by the migrator's source threads.
#include "proxy/migration/shard_link.h"

#include <sys/time.h>

#include <charconv>
#include <cstdio>

namespace mig {
namespace {

timeval toTimeval(uint32_t ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

constexpr size_t kLogKeyBytes = 100;

}  // namespace

std::string_view replyText(const redisReply* r) {
  return (r != nullptr && r->str != nullptr) ? std::string_view(r->str, r->len)
                                             : std::string_view();
}

bool isStatus(const redisReply* r, std::string_view s) {
  return r != nullptr && r->type == REDIS_REPLY_STATUS && replyText(r) == s;
}

std::string describeReply(const redisReply* r) {
  if (r == nullptr) return "(no reply)";
  // Built by appending: `"-" + std::string(...)` trips a GCC 12 -Wrestrict false positive.
  std::string out;
  switch (r->type) {
    case REDIS_REPLY_ERROR: out = "-"; out += replyText(r); break;
    case REDIS_REPLY_STATUS: out = "+"; out += replyText(r); break;
    case REDIS_REPLY_INTEGER: out = ":"; out += std::to_string(r->integer); break;
    case REDIS_REPLY_NIL: out = "(nil)"; break;
    case REDIS_REPLY_ARRAY: out = "(array of " + std::to_string(r->elements) + ")"; break;
    default: out = "(bulk of " + std::to_string(r->len) + " bytes)"; break;
  }
  return out;
}

bool parseU64(std::string_view s, uint64_t* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// Keys are binary and may be huge: a log line carries at most 100 bytes of one, escaped
// so a key cannot forge log lines.
std::string printableKey(std::string_view key) {
  std::string out;
  for (unsigned char c : key.substr(0, kLogKeyBytes)) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (key.size() > kLogKeyBytes) out += "...(" + std::to_string(key.size()) + " bytes)";
  return out;
}

bool ShardLink::connect(const ShardEndpoint& ep, uint32_t timeoutMs, std::string* error) {
  reset();
  ctx_ = redisConnectWithTimeout(ep.host.c_str(), ep.port, toTimeval(timeoutMs));
  if (ctx_ == nullptr || ctx_->err != 0) {
    *error = ctx_ != nullptr ? ctx_->errstr : "out of memory";
    reset();
    return false;
  }
  redisSetTimeout(ctx_, toTimeval(timeoutMs));
  // A shard that vanishes without a FIN must not pin a thread until the command timeout
  // of every later call: keepalive lets the kernel notice.
  redisEnableKeepAlive(ctx_);
  return authenticate(ep, error);
}

ReplyPtr ShardLink::command(const Argv& argv) {
  std::vector<ReplyPtr> replies = pipeline({argv});
  return replies.empty() ? nullptr : std::move(replies.front());
}

std::vector<ReplyPtr> ShardLink::pipeline(const std::vector<Argv>& commands) {
  std::vector<ReplyPtr> replies;
  if (ctx_ == nullptr) {
    error_ = "not connected";
    return replies;
  }
  for (const Argv& argv : commands) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const std::string& a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), ptrs.data(), lens.data()) !=
        REDIS_OK) {
      return broken();
    }
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return broken();
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  return replies;
}

void ShardLink::reset() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

bool ShardLink::authenticate(const ShardEndpoint& ep, std::string* error) {
  if (ep.username.empty() && ep.password.empty()) return true;
  const Argv argv = ep.username.empty() ? Argv{"AUTH", ep.password}
                                        : Argv{"AUTH", ep.username, ep.password};
  ReplyPtr r = command(argv);
  if (isStatus(r.get(), "OK")) return true;
  *error = "AUTH: " + (r ? describeReply(r.get()) : error_);
  reset();
  return false;
}

std::vector<ReplyPtr> ShardLink::broken() {
  error_ = (ctx_ != nullptr && ctx_->err != 0) ? ctx_->errstr : "no reply";
  reset();
  return {};
}

}  // namespace mig
