// Client and Reply over hiredis 0.14; see redis_client.h. Called by tests and the
// readiness polls in RedisServer, Proxy and Nutcracker.
#include "tests/support/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <sstream>
#include <stdexcept>
#include <utility>

namespace testsupport {

namespace {

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = ReplyType::String; break;
    case REDIS_REPLY_STATUS: out.type = ReplyType::Status; break;
    case REDIS_REPLY_ERROR: out.type = ReplyType::Error; break;
    case REDIS_REPLY_INTEGER: out.type = ReplyType::Integer; break;
    case REDIS_REPLY_ARRAY: out.type = ReplyType::Array; break;
    default: out.type = ReplyType::Nil; break;
  }
  if (r->str != nullptr) out.str.assign(r->str, r->len);
  out.integer = r->integer;
  for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
  return out;
}

Reply ioError(const redisContext* ctx) {
  Reply out;
  out.type = ReplyType::IoError;
  out.str = (ctx && ctx->err) ? ctx->errstr : "no reply";
  return out;
}

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

void describeTo(std::ostream& os, const Reply& r) {
  switch (r.type) {
    case ReplyType::Nil: os << "(nil)"; break;
    case ReplyType::Status: os << "(status) " << r.str; break;
    case ReplyType::Error: os << "(error) " << r.str; break;
    case ReplyType::IoError: os << "(io-error) " << r.str; break;
    case ReplyType::Integer: os << "(integer) " << r.integer; break;
    case ReplyType::String:
      if (r.str.size() > 200) {
        os << '"' << r.str.substr(0, 200) << "\"... (" << r.str.size() << " bytes)";
      } else {
        os << '"' << r.str << '"';
      }
      break;
    case ReplyType::Array:
      os << '[';
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i) os << ", ";
        describeTo(os, r.elements[i]);
      }
      os << ']';
      break;
  }
}

}  // namespace

std::string Reply::describe() const {
  std::ostringstream ss;
  describeTo(ss, *this);
  return ss.str();
}

std::ostream& operator<<(std::ostream& os, const Reply& r) { return os << r.describe(); }

bool operator==(const Reply& a, const Reply& b) {
  if (a.type != b.type || a.str != b.str || a.elements.size() != b.elements.size()) return false;
  if (a.type == ReplyType::Integer && a.integer != b.integer) return false;
  for (size_t i = 0; i < a.elements.size(); ++i) {
    if (!(a.elements[i] == b.elements[i])) return false;
  }
  return true;
}

Reply status(const std::string& s) { return Reply{ReplyType::Status, s, 0, {}}; }
Reply bulk(const std::string& s) { return Reply{ReplyType::String, s, 0, {}}; }
Reply integer(long long v) { return Reply{ReplyType::Integer, "", v, {}}; }
Reply nil() { return Reply{}; }
Reply array(std::vector<Reply> elements) {
  return Reply{ReplyType::Array, "", 0, std::move(elements)};
}
Reply errorReply(const std::string& s) { return Reply{ReplyType::Error, s, 0, {}}; }

std::ostream& operator<<(std::ostream& os, ReplyType t) {
  static const char* names[] = {"Nil", "Status", "Error", "Integer", "String", "Array",
                                "IoError"};
  return os << names[static_cast<int>(t)];
}

Client::Client(uint16_t port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout) {
  connect();
}

Client::~Client() {
  if (ctx_) redisFree(ctx_);
}

Client::Client(Client&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)), port_(o.port_), timeout_(o.timeout_) {}

Client& Client::operator=(Client&& o) noexcept {
  if (this != &o) {
    if (ctx_) redisFree(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
    port_ = o.port_;
    timeout_ = o.timeout_;
  }
  return *this;
}

void Client::connect() {
  if (ctx_) redisFree(ctx_);
  ctx_ = redisConnectWithTimeout("127.0.0.1", port_, toTimeval(timeout_));
  if (ctx_ == nullptr) throw std::runtime_error("redisConnect: out of memory");
  if (ctx_->err) {
    std::string err = ctx_->errstr;
    redisFree(ctx_);
    ctx_ = nullptr;
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port_) + ": " +
                             err);
  }
  redisSetTimeout(ctx_, toTimeval(timeout_));
}

std::optional<Client> Client::tryConnect(uint16_t port, std::chrono::milliseconds timeout) {
  try {
    return Client(port, timeout);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
}

void Client::reconnect() { connect(); }

bool Client::ok() const { return ctx_ != nullptr && ctx_->err == 0; }

std::string Client::error() const {
  if (ctx_ == nullptr) return "not connected";
  return ctx_->err ? ctx_->errstr : "";
}

void Client::append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data());
}

bool Client::flush() {
  int done = 0;
  while (!done) {
    if (redisBufferWrite(ctx_, &done) != REDIS_OK) return false;
  }
  return true;
}

Reply Client::getReply() {
  if (!ok()) return ioError(ctx_);
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return ioError(ctx_);
  Reply out = convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return out;
}

Reply Client::cmd(const std::vector<std::string>& args) {
  if (!ok()) return ioError(ctx_);
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  void* raw = redisCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data());
  if (raw == nullptr) return ioError(ctx_);
  Reply out = convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return out;
}

}  // namespace testsupport
