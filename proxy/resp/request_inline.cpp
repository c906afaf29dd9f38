// RequestParser's inline-command path ("SET k \"v\"\r\n", as typed into telnet): line
// framing as in Redis 7.0 processInlineBuffer and argument splitting as in sdssplitargs.
// Called by: RequestParser::parse when a request does not start with '*'.
// Inline requests are rare (humans, health checks), so clarity wins over speed here.

#include <algorithm>
#include <cstring>

#include "proxy/resp/request_parser.h"

namespace resp {
namespace {

constexpr uint64_t kMaxRequestBytes = UINT32_MAX;  // spans keep 32-bit offsets

// C isspace() in the "C" locale, which sdssplitargs uses to skip blanks between arguments
// and to validate what follows a closing quote. Note '\v' and '\f' are blanks there but do
// not end an unquoted argument.
bool isBlank(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

bool isHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

char unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;
  }
}

// Reads a line byte, with NUL standing for "past the end" as in the C string Redis scans.
struct Line {
  const char* data;
  size_t len;
  char at(size_t k) const { return k < len ? data[k] : '\0'; }
};

// A closing quote ends the argument and must be followed by a blank or the end of line.
bool closesCleanly(const Line& line, size_t& i) {
  const char next = line.at(i + 1);
  ++i;
  return next == '\0' || isBlank(next);
}

// The quoted rest of an argument; line.at(i) is the opening quote. Leaves i past the closing
// quote. False on an unterminated quote or a closing quote glued to more text.
bool readQuoted(const Line& line, size_t& i, std::string& out) {
  const char quote = line.at(i);
  for (++i;; ++i) {
    const char c = line.at(i);
    if (c == '\0') return false;
    if (c == quote) return closesCleanly(line, i);
    if (c != '\\') {
      out += c;
    } else if (quote == '\'') {
      if (line.at(i + 1) == '\'') ++i;  // only \' is an escape in single quotes
      out += line.at(i);
    } else if (line.at(i + 1) == 'x' && isHexDigit(line.at(i + 2)) && isHexDigit(line.at(i + 3))) {
      out += static_cast<char>(hexValue(line.at(i + 2)) * 16 + hexValue(line.at(i + 3)));
      i += 3;
    } else if (line.at(i + 1) != '\0') {
      out += unescape(line.at(++i));
    } else {
      out += c;  // a trailing backslash is literal (and the quote is then unterminated)
    }
  }
}

// One argument starting at a non-blank line.at(i); leaves i after the byte that ended it.
bool readToken(const Line& line, size_t& i, std::string& out) {
  for (;; ++i) {
    const char c = line.at(i);
    switch (c) {
      case ' ':
      case '\n':
      case '\r':
      case '\t':
        ++i;
        return true;
      case '\0':
        return true;
      case '"':
      case '\'':
        return readQuoted(line, i, out);  // sdssplitargs ends the argument at the closing quote
      default:
        out += c;
    }
  }
}

}  // namespace

ParseResult RequestParser::parseInline(std::string_view buf) {
  const char* p = buf.data();
  const size_t n = buf.size();
  size_t newline = n;
  if (!nulSeen_) {
    const size_t from = std::min(lineScan_, n);
    const void* hit = std::memchr(p + from, '\n', n - from);
    if (hit != nullptr) newline = static_cast<size_t>(static_cast<const char*>(hit) - p);
    // Redis looks for the newline with strchr: a NUL in front hides it, for good.
    if (std::memchr(p + from, '\0', newline - from) != nullptr) nulSeen_ = true;
  }
  if (nulSeen_ || newline == n) {
    lineScan_ = n;
    if (n > limits_.maxInlineBytes) return fail(ProtoError::TooBigInline);
    return {ParseStatus::Incomplete, 0};
  }
  size_t len = newline;
  if (len > 0 && p[len - 1] == '\r') --len;
  if (len > kMaxRequestBytes) return fail(ProtoError::TooBigInline);
  if (!splitInline(p, len)) return fail(ProtoError::UnbalancedQuotes);
  return complete(newline + 1);
}

// sdssplitargs: blanks separate arguments; "double quotes" take \n \r \t \b \a \xHH and
// \<any> escapes; 'single quotes' take \'; a closing quote must be followed by a blank or
// the end of the line. The line holds no NUL (see parseInline), so NUL can mean "end".
bool RequestParser::splitInline(const char* line, size_t len) {
  scratch_.clear();
  scratch_.reserve(len);  // sized by bytes actually received, never by a declared count
  args_.clear();
  size_t i = 0;
  for (;;) {
    while (i < len && isBlank(line[i])) ++i;
    if (i == len) return true;
    const size_t start = scratch_.size();
    if (!readToken(Line{line, len}, i, scratch_)) {
      args_.clear();
      return false;
    }
    args_.push_back(
        Span{static_cast<uint32_t>(start), static_cast<uint32_t>(scratch_.size() - start)});
  }
}

}  // namespace resp
