// Parsers for the scalar values a config holds: integers with ranges, byte sizes,
// booleans, host:port endpoints. Pure string functions (no YAML), so their exact
// messages are testable on their own.
// Called by: config_reader.cpp (field readers) and tests/unit/config_fields_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/proxy_config.h"

namespace config {

struct IntRule {
  int64_t min = 0;
  int64_t max = 0;
  // A short closed range ("expected an integer 0..256") tells the reader everything at
  // once; for open-ended counts the violated bound alone ("must be >= 1") reads better.
  bool reportRange = false;
};

// The message for a value that is not an integer at all.
std::string intExpectation(const IntRule& rule);
// Decimal only: YAML 1.1 would read 010 as octal and 0x10 as hex, which surprises
// people writing port-like numbers, so neither is accepted.
std::optional<int64_t> parseInteger(std::string_view text, const IntRule& rule,
                                    std::string& error);

struct ByteRule {
  uint64_t min = 1;
  uint64_t max = 1ull << 40;
};

inline constexpr std::string_view kExpectByteSize =
    "expected a byte size like 65536, 512KiB, 64MiB or 1GiB";
// Accepts a plain byte count or a number with unit B, KiB, MiB or GiB (1024-based,
// case-insensitive, optional space). KB/MB/GB (and k/m/g) are rejected as ambiguous:
// SI says MB = 10^6 but redis.conf says 1mb = 2^20 and 1m = 10^6, so whichever we chose
// would silently be wrong for half the people writing it.
std::optional<uint64_t> parseByteSize(std::string_view text, const ByteRule& rule,
                                      std::string& error);
// 64MiB when the value is an exact multiple of a unit, else the plain byte count.
std::string formatByteSize(uint64_t bytes);

inline constexpr std::string_view kExpectBool = "expected true or false";
// true/false, plus yes/no/on/off because YAML 1.1 (and yaml-cpp) treat them as booleans
// and existing configs use them.
std::optional<bool> parseBool(std::string_view text, std::string& error);

inline constexpr std::string_view kExpectHostPort = "expected host:port";
// host:port where host is dotted IPv4, a DNS name, or an IPv6 address in brackets
// ("[::1]:6380"; stored without the brackets). Port 1..65535.
std::optional<Endpoint> parseEndpoint(std::string_view text, std::string& error);

}  // namespace config
