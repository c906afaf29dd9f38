// ASCII case helpers: Redis matches command names, subcommands and options without regard
// to case. Header-only; used by the session, the local command handlers and error texts.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace proxy::text {

inline char lowerChar(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerChar(c);
  return out;
}

inline bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerChar(a[i]) != lowerChar(b[i])) return false;
  }
  return true;
}

}  // namespace proxy::text
