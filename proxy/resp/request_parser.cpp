// RequestParser's entry point, shared state handling and the multibulk path
// ("*N\r\n$len\r\n<bytes>\r\n..."): the hot path of every client request.
// Called by: ClientSession for each read from a client; tests; the fuzz target.
// Inline commands are in request_inline.cpp. Behaviour mirrors Redis 7.0 networking.c
// (processMultibulkBuffer), including which error wins and when Redis still waits for bytes.

#include "proxy/resp/request_parser.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "proxy/resp/resp_number.h"

namespace resp {
namespace {

// Argument slots held up front: enough for nearly every command, and small enough that a
// client announcing "*1000000" gets nothing until its arguments really arrive.
constexpr size_t kInitialArgSlots = 16;

// findLineEnd results that are not a '\r' position.
constexpr size_t kNoLine = SIZE_MAX;           // no '\r' buffered at all
constexpr size_t kNeedNewline = SIZE_MAX - 1;  // '\r' is the last buffered byte

// Spans keep 32-bit offsets to stay small in the hot path; a single request larger than
// this is refused instead of being silently truncated.
constexpr uint64_t kMaxRequestBytes = UINT32_MAX;

// Redis finds header lines with strchr, which stops at a NUL: a line with a NUL before its
// '\r' is invisible to Redis. Valid lines never hold a NUL, so callers only ask on errors.
bool hiddenByNul(std::string_view buf, size_t start, size_t end) {
  return std::memchr(buf.data() + start, '\0', end - start) != nullptr;
}

}  // namespace

RequestParser::RequestParser(Limits limits) : limits_(limits) { args_.reserve(kInitialArgSlots); }

std::string_view RequestParser::arg(size_t i) const {
  const Span s = args_[i];
  const char* base = inline_ ? scratch_.data() : base_;
  return {base + s.offset, s.length};
}

ParseResult RequestParser::parse(std::string_view buf) {
  base_ = buf.data();
  error_ = ProtoError::None;
  if (buf.empty()) return {ParseStatus::Incomplete, 0};
  if (state_ == State::Start) {
    args_.clear();
    // Redis decides per request, on its first byte only.
    inline_ = buf[0] != '*';
    if (inline_) return parseInline(buf);
  }
  return parseMultibulk(buf);
}

void RequestParser::reset() {
  state_ = State::Start;
  pos_ = 0;
  remaining_ = 0;
  bulkLen_ = 0;
  lineScan_ = 0;
  nulSeen_ = false;
  inline_ = false;
  args_.clear();
  error_ = ProtoError::None;
  errorChar_ = 0;
}

std::string RequestParser::errorText() const {
  switch (error_) {
    case ProtoError::None:
      return {};
    case ProtoError::TooBigInline:
      return "Protocol error: too big inline request";
    case ProtoError::UnbalancedQuotes:
      return "Protocol error: unbalanced quotes in request";
    case ProtoError::TooBigMbulkCount:
      return "Protocol error: too big mbulk count string";
    case ProtoError::InvalidMultibulkLength:
      return "Protocol error: invalid multibulk length";
    case ProtoError::TooBigBulkCount:
      return "Protocol error: too big bulk count string";
    case ProtoError::InvalidBulkLength:
      return "Protocol error: invalid bulk length";
    case ProtoError::UnauthMultibulkLength:
      return "Protocol error: unauthenticated multibulk length";
    case ProtoError::UnauthBulkLength:
      return "Protocol error: unauthenticated bulk length";
    case ProtoError::ExpectedDollar: {
      // addReplyErrorFormat maps CR/LF to spaces so the reply stays one RESP line.
      const char got = (errorChar_ == '\r' || errorChar_ == '\n') ? ' ' : errorChar_;
      std::string text = "Protocol error: expected '$', got '";
      text += got;
      text += '\'';
      return text;
    }
  }
  return {};
}

ParseResult RequestParser::fail(ProtoError e, char got) {
  error_ = e;
  errorChar_ = got;
  // The session closes the client, but leave the parser usable rather than half-way.
  args_.clear();
  state_ = State::Start;
  pos_ = 0;
  remaining_ = 0;
  lineScan_ = 0;
  nulSeen_ = false;
  return {ParseStatus::Error, 0};
}

RequestParser::Step RequestParser::failStep(ProtoError e, char got) {
  fail(e, got);
  return Step::Failed;
}

ParseResult RequestParser::complete(size_t consumed) {
  state_ = State::Start;
  pos_ = 0;
  remaining_ = 0;
  lineScan_ = 0;
  nulSeen_ = false;
  return {ParseStatus::Complete, consumed};
}

ParseResult RequestParser::parseMultibulk(std::string_view buf) {
  const char* p = buf.data();
  const size_t n = buf.size();
  size_t pos = pos_;
  // A caller that shrank the buffer broke the contract; never index past its end.
  if (pos > n) return {ParseStatus::Incomplete, 0};
  if (state_ == State::Start) {
    uint64_t count = 0;
    const char* cr = detail::scanCanonicalNumber(p, p + n, count);
    if (cr != nullptr && count <= INT_MAX && count <= limits_.maxArgs &&
        (authenticated_ || count <= limits_.unauthMaxArgs)) {
      remaining_ = static_cast<int64_t>(count);
      pos = static_cast<size_t>(cr - p) + 2;
    } else {
      const Step s = readCount(buf, pos);
      if (s != Step::Done)
        return {s == Step::Failed ? ParseStatus::Error : ParseStatus::Incomplete, 0};
    }
    if (remaining_ <= 0) return complete(pos);  // "*0" / "*-N": Redis ignores the request
    state_ = State::ArgHeader;
  }
  for (;;) {
    if (state_ == State::ArgHeader) {
      uint64_t len = 0;
      const char* cr =
          pos < n && p[pos] == '$' ? detail::scanCanonicalNumber(p + pos, p + n, len) : nullptr;
      if (cr != nullptr && len <= limits_.maxBulkBytes &&
          (authenticated_ || len <= limits_.unauthMaxBulkBytes) &&
          static_cast<uint64_t>(cr - p) + 2 + len <= kMaxRequestBytes) {
        bulkLen_ = static_cast<int64_t>(len);
        pos = static_cast<size_t>(cr - p) + 2;
      } else {
        const Step s = readBulkHeader(buf, pos);
        if (s == Step::Failed) return {ParseStatus::Error, 0};
        if (s == Step::NeedMore) {
          pos_ = pos;
          return {ParseStatus::Incomplete, 0};
        }
      }
      state_ = State::ArgData;
    }
    // Redis takes len bytes plus two terminator bytes it never looks at; so do we.
    const size_t need = static_cast<size_t>(bulkLen_) + 2;
    if (n - pos < need) {
      pos_ = pos;  // resume here: the bulk is not rescanned, only its length is re-checked
      return {ParseStatus::Incomplete, 0};
    }
    args_.push_back(Span{static_cast<uint32_t>(pos), static_cast<uint32_t>(bulkLen_)});
    pos += need;
    state_ = State::ArgHeader;
    if (--remaining_ == 0) return complete(pos);
  }
}

// "*<count>\r\n" at the start of buf: the general path, with Redis's exact outcomes.
RequestParser::Step RequestParser::readCount(std::string_view buf, size_t& pos) {
  const size_t cr = findLineEnd(buf, 0);
  if (cr >= kNeedNewline) return lineNotVisible(buf, 0, cr, ProtoError::TooBigMbulkCount);
  int64_t count = 0;
  if (!detail::parseInt64(buf.data() + 1, cr - 1, count) || count > INT_MAX) {
    if (hiddenByNul(buf, 0, cr))
      return lineNotVisible(buf, 0, kNoLine, ProtoError::TooBigMbulkCount);
    return failStep(ProtoError::InvalidMultibulkLength);
  }
  if (!authenticated_ && count > 0 && static_cast<uint64_t>(count) > limits_.unauthMaxArgs)
    return failStep(ProtoError::UnauthMultibulkLength);
  // Our cap is extra to Redis (which allows INT_MAX): it goes last so every count Redis would
  // refuse gets Redis's wording, and fails like Redis's own cap does.
  if (count > 0 && static_cast<uint64_t>(count) > limits_.maxArgs)
    return failStep(ProtoError::InvalidMultibulkLength);
  remaining_ = count;
  pos = cr + 2;
  return Step::Done;
}

// "$<len>\r\n" at pos: the general path. Like Redis, the '$' is checked only once the whole
// line is visible.
RequestParser::Step RequestParser::readBulkHeader(std::string_view buf, size_t& pos) {
  const char* p = buf.data();
  const size_t cr = findLineEnd(buf, pos);
  if (cr >= kNeedNewline) return lineNotVisible(buf, pos, cr, ProtoError::TooBigBulkCount);
  if (p[pos] != '$') {
    if (hiddenByNul(buf, pos, cr))
      return lineNotVisible(buf, pos, kNoLine, ProtoError::TooBigBulkCount);
    return failStep(ProtoError::ExpectedDollar, p[pos]);
  }
  int64_t len = 0;
  if (!detail::parseInt64(p + pos + 1, cr - pos - 1, len) || len < 0 ||
      static_cast<uint64_t>(len) > limits_.maxBulkBytes) {
    if (hiddenByNul(buf, pos, cr))
      return lineNotVisible(buf, pos, kNoLine, ProtoError::TooBigBulkCount);
    return failStep(ProtoError::InvalidBulkLength);
  }
  if (!authenticated_ && static_cast<uint64_t>(len) > limits_.unauthMaxBulkBytes)
    return failStep(ProtoError::UnauthBulkLength);
  if (cr + 2 + static_cast<uint64_t>(len) > kMaxRequestBytes)
    return failStep(ProtoError::InvalidBulkLength);
  bulkLen_ = len;
  pos = cr + 2;
  return Step::Done;
}

// Position of the first '\r' at or after `start` (Redis: strchr(line, '\r')), kNoLine, or
// kNeedNewline when that '\r' is the last byte (Redis then waits for one more byte).
// Remembers how far it searched so a header trickling in is not searched again.
size_t RequestParser::findLineEnd(std::string_view buf, size_t start) {
  size_t from = std::max(start, lineScan_);
  if (from > buf.size()) from = start;
  const void* hit = std::memchr(buf.data() + from, '\r', buf.size() - from);
  if (hit == nullptr) {
    lineScan_ = buf.size();
    return kNoLine;
  }
  const size_t cr = static_cast<size_t>(static_cast<const char*>(hit) - buf.data());
  lineScan_ = cr;
  return cr + 1 < buf.size() ? cr : kNeedNewline;
}

// Redis cannot see a complete line yet: it keeps waiting, unless more than maxInlineBytes
// are buffered past the line start and no terminator is visible at all.
RequestParser::Step RequestParser::lineNotVisible(std::string_view buf, size_t start, size_t cr,
                                                  ProtoError tooBig) {
  if (buf.size() - start <= limits_.maxInlineBytes) return Step::NeedMore;
  // A visible '\r' waiting for one more byte is exempt from the size check in Redis.
  if (cr == kNeedNewline && !hiddenByNul(buf, start, buf.size() - 1)) return Step::NeedMore;
  return failStep(tooBig);
}

}  // namespace resp
