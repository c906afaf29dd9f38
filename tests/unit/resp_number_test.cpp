// resp_number.h: parseInt64 must accept exactly what Redis's string2ll accepts, and the
// canonical fast path must never accept anything parseInt64 would judge differently.

#include "proxy/resp/resp_number.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "resp_test_util.h"

namespace {

// string2ll's rules restated independently: -?(0|[1-9][0-9]*), not "-0", < 21 bytes, in range.
bool referenceParse(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() >= 21) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t k = i; k < s.size(); ++k)
    if (s[k] < '0' || s[k] > '9') return false;
  if (s[i] == '0' && (s.size() - i > 1 || i == 1)) return false;
  const std::string digits = s.substr(i);
  const std::string limit = i == 1 ? "9223372036854775808" : "9223372036854775807";
  if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit))
    return false;
  unsigned long long v = std::stoull(digits);
  out = i == 1 ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

// Checks both functions on `s` (the number part, without the type byte).
std::string check(const std::string& s) {
  int64_t want = 0;
  int64_t got = 0;
  const bool refOk = referenceParse(s, want);
  const bool ok = resp::detail::parseInt64(s.data(), s.size(), got);
  if (ok != refOk || (ok && got != want))
    return std::string("parseInt64 disagrees on '") + resp_test::printable(s) + "'";

  // The fast path sees "$<s>\r\n" and must match Redis's "first '\r' ends the line".
  const std::string line = std::string("$") + s + "\r\n";
  uint64_t fast = 0;
  const char* cr = resp::detail::scanCanonicalNumber(line.data(), line.data() + line.size(), fast);
  if (cr == nullptr) return {};
  const char* firstCr = static_cast<const char*>(std::memchr(line.data(), '\r', line.size()));
  int64_t slow = 0;
  const size_t len = static_cast<size_t>(firstCr - line.data()) - 1;
  if (cr != firstCr || !resp::detail::parseInt64(line.data() + 1, len, slow) ||
      static_cast<uint64_t>(slow) != fast) {
    return std::string("fast path disagrees on '") + resp_test::printable(s) + "'";
  }
  return {};
}

}  // namespace

TEST_CASE("parseInt64 and the fast path agree with string2ll on every short string", "[number]") {
  const std::string alphabet = "0129-+ \rx";
  std::string s;
  // Every string of length 0..5 over the alphabet (~66k strings).
  for (size_t len = 0; len <= 5; ++len) {
    size_t total = 1;
    for (size_t i = 0; i < len; ++i) total *= alphabet.size();
    s.assign(len, '0');
    for (size_t code = 0; code < total; ++code) {
      size_t c = code;
      for (size_t i = 0; i < len; ++i, c /= alphabet.size()) s[i] = alphabet[c % alphabet.size()];
      const std::string err = check(s);
      if (!err.empty()) FAIL(err);
    }
  }
}

TEST_CASE("parseInt64 boundaries", "[number]") {
  for (const char* s : {"9223372036854775807", "9223372036854775808", "-9223372036854775808",
                        "-9223372036854775809", "18446744073709551615", "18446744073709551616",
                        "99999999999999999999", "-9999999999999999999", "999999999999999999",
                        "1000000000000000000", "0000000000000000000", "-0", "0", "-", "",
                        "100000000000000000000", "12345678901234567890"}) {
    CHECK(check(s) == "");
  }
  int64_t v = 0;
  REQUIRE(resp::detail::parseInt64("-9223372036854775808", 20, v));
  CHECK(v == INT64_MIN);
  REQUIRE(resp::detail::parseInt64("9223372036854775807", 19, v));
  CHECK(v == INT64_MAX);
}
