// Strict decimal parsing of RESP length/count/integer fields, internal to proxy/resp.
// Called by: RequestParser (multibulk counts, bulk lengths) and ReplyScanner (lengths, ':').
#pragma once

#include <cstddef>
#include <cstdint>

namespace resp::detail {

// Redis's string2ll (util.c), so a length Redis would refuse is refused here too: optional
// '-', then "0" alone or a non-zero digit and digits; no '+', spaces or leading zeros ("-0"
// is invalid); at most 20 bytes; must fit int64_t.
inline bool parseInt64(const char* s, size_t len, int64_t& out) {
  if (len == 0 || len >= 21) return false;
  if (len == 1 && s[0] == '0') {
    out = 0;
    return true;
  }
  size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative && ++i == len) return false;
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = static_cast<uint64_t>(s[i] - '0');
  for (++i; i < len; ++i) {
    const unsigned d = static_cast<unsigned char>(s[i]) - unsigned('0');
    if (d > 9) return false;
    // 20 digits can exceed UINT64_MAX; string2ll checks both steps the same way.
    if (v > UINT64_MAX / 10) return false;
    v *= 10;
    if (v > UINT64_MAX - d) return false;
    v += d;
  }
  if (negative) {
    if (v > uint64_t(INT64_MAX) + 1) return false;
    out = static_cast<int64_t>(0 - v);  // modular conversion: exact for INT64_MIN in C++20
  } else {
    if (v > uint64_t(INT64_MAX)) return false;
    out = static_cast<int64_t>(v);
  }
  return true;
}

// The canonical line "<type><digits>\r" that real peers send, parsed in one pass with no
// memchr. `s` points at the type byte. Returns the '\r' (then necessarily the first '\r' of
// the line) with `value` set, or nullptr, meaning "take the general path" (memchr +
// parseInt64), which handles everything else with exact semantics. Accepts only what
// parseInt64 accepts: no sign, no leading zero, at most 18 digits (so < INT64_MAX). The
// '\r' is never the last byte before `end`, so the caller may read the byte after it.
inline const char* scanCanonicalNumber(const char* s, const char* end, uint64_t& value) {
  // One or two digits ("*2", "$3", "$16") are most lines; settle them without the loop.
  if (end - s >= 4 && s[2] == '\r') {
    const unsigned d = static_cast<unsigned char>(s[1]) - unsigned('0');
    if (d > 9) return nullptr;
    value = d;
    return s + 2;
  }
  if (end - s >= 5 && s[3] == '\r') {
    const unsigned hi = static_cast<unsigned char>(s[1]) - unsigned('1');  // no leading zero
    const unsigned lo = static_cast<unsigned char>(s[2]) - unsigned('0');
    if (hi > 8 || lo > 9) return nullptr;
    value = (hi + 1) * 10 + lo;
    return s + 3;
  }
  const char* q = s + 1;
  const char* limit = end - s > 19 ? s + 19 : end;
  uint64_t v = 0;
  while (q < limit) {
    const unsigned d = static_cast<unsigned char>(*q) - unsigned('0');
    if (d > 9) break;
    v = v * 10 + d;
    ++q;
  }
  if (q == s + 1 || q + 1 >= end || *q != '\r') return nullptr;
  if (s[1] == '0' && q != s + 2) return nullptr;
  value = v;
  return q;
}

}  // namespace resp::detail
