// RESP2 encoders appending to a caller-owned byte buffer.
// Called by: local command handlers, fan-out merges, backend control commands, tests.

#include "proxy/resp/resp_writer.h"

#include <charconv>

namespace resp {
namespace {

// "<prefix><decimal>\r\n" with a single append; 32 bytes hold any 64-bit value.
template <typename Int>
void appendNumberLine(std::string& out, char prefix, Int v) {
  char tmp[32];
  tmp[0] = prefix;
  const auto res = std::to_chars(tmp + 1, tmp + sizeof tmp - 2, v);
  res.ptr[0] = '\r';
  res.ptr[1] = '\n';
  out.append(tmp, static_cast<size_t>(res.ptr + 2 - tmp));
}

// Simple strings and errors end at the first CR/LF, so one inside (say, a client-supplied
// name echoed in an error) would desync the client. Like Redis's addReplyErrorFormat, we
// turn them into spaces.
void appendLine(std::string& out, char prefix, std::string_view s) {
  out.reserve(out.size() + s.size() + 3);
  out += prefix;
  const size_t start = out.size();
  out.append(s);
  if (s.find_first_of("\r\n") != std::string_view::npos) {
    for (size_t i = start; i < out.size(); ++i)
      if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  }
  out.append("\r\n", 2);
}

}  // namespace

void appendSimple(std::string& out, std::string_view s) { appendLine(out, '+', s); }

void appendError(std::string& out, std::string_view s) { appendLine(out, '-', s); }

void appendInteger(std::string& out, int64_t v) { appendNumberLine(out, ':', v); }

void appendBulk(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 32);
  appendNumberLine(out, '$', s.size());
  out.append(s);
  out.append("\r\n", 2);
}

void appendNullBulk(std::string& out) { out.append("$-1\r\n", 5); }

void appendNullArray(std::string& out) { out.append("*-1\r\n", 5); }

void appendArrayHeader(std::string& out, size_t n) { appendNumberLine(out, '*', n); }

}  // namespace resp
