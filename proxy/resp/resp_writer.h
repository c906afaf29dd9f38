// Append-only RESP2 encoders into a byte buffer (locally generated replies and commands).
// Called by: local command handlers, fan-out merges, backend control commands, tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace resp {

void appendSimple(std::string& out, std::string_view s);   // +s\r\n
void appendError(std::string& out, std::string_view s);    // -s\r\n (s includes the code, e.g. "ERR ...")
void appendInteger(std::string& out, int64_t v);            // :v\r\n
void appendBulk(std::string& out, std::string_view s);      // $len\r\ns\r\n
void appendNullBulk(std::string& out);                      // $-1\r\n
void appendNullArray(std::string& out);                     // *-1\r\n
void appendArrayHeader(std::string& out, size_t n);         // *n\r\n
// A whole command as a multibulk array of bulk strings.
template <typename Range>
void appendCommand(std::string& out, const Range& args) {
  size_t n = 0;
  for (const auto& a : args) { (void)a; ++n; }
  appendArrayHeader(out, n);
  for (const auto& a : args) appendBulk(out, std::string_view(a));
}

}  // namespace resp
