// Scalar value parsers for the config (see config_fields.h for the accepted syntax).
// Called by: config_reader.cpp; tested directly by tests/unit/config_fields_test.cpp.
#include "config/config_fields.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace config {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool allDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), isDigit);
}

std::string toLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// nullopt with `error` set when the unit is unknown or ambiguous.
std::optional<uint64_t> unitMultiplier(std::string_view unit, std::string& error) {
  const std::string lower = toLower(unit);
  if (lower.empty() || lower == "b") return 1;
  if (lower == "kib") return 1ull << 10;
  if (lower == "mib") return 1ull << 20;
  if (lower == "gib") return 1ull << 30;
  for (std::string_view ambiguous : {"k", "kb", "m", "mb", "g", "gb"}) {
    if (lower == ambiguous) {
      error = "ambiguous unit '" + std::string(unit) +
              "': use KiB, MiB or GiB (1024-based) or a plain byte count";
      return std::nullopt;
    }
  }
  error = kExpectByteSize;
  return std::nullopt;
}

bool isHostNameLabel(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  // '_' is not legal in DNS host names, but Docker Compose service names use it and
  // resolvers accept it, so rejecting it would break real deployments.
  return std::all_of(label.begin(), label.end(), [](char c) {
    return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_';
  });
}

bool isHostName(std::string_view host) {
  if (host.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = host.find('.', start);
    if (!isHostNameLabel(host.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool validHost(std::string_view host, bool bracketed, std::string& error) {
  const std::string copy(host);
  unsigned char address[16];
  if (bracketed) {
    // A zone ("fe80::1%eth0") is legal for link-local peers; inet_pton knows no zones.
    const size_t percent = copy.find('%');
    const std::string bare = copy.substr(0, percent);
    const bool emptyZone = percent != std::string::npos && percent + 1 == copy.size();
    if (!emptyZone && inet_pton(AF_INET6, bare.c_str(), address) == 1) return true;
    error = "invalid IPv6 address '[" + copy + "]'";
    return false;
  }
  // No top-level domain is all digits, so digits-and-dots can only mean IPv4.
  if (std::all_of(copy.begin(), copy.end(), [](char c) { return isDigit(c) || c == '.'; })) {
    if (inet_pton(AF_INET, copy.c_str(), address) == 1) return true;
    error = "invalid IPv4 address '" + copy + "'";
    return false;
  }
  if (isHostName(host)) return true;
  error = "invalid host name '" + copy + "'";
  return false;
}

// Splits "host:port" / "[v6]:port"; host keeps no brackets.
bool splitHostPort(std::string_view text, std::string_view& host, std::string_view& port,
                   bool& bracketed, std::string& error) {
  bracketed = !text.empty() && text.front() == '[';
  size_t colon = 0;
  if (bracketed) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = kExpectHostPort;
      return false;
    }
    host = text.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      error = kExpectHostPort;
      return false;
    }
    if (text.find(':') != colon) {
      error = "expected host:port, with an IPv6 address in brackets ([::1]:6380)";
      return false;
    }
    host = text.substr(0, colon);
  }
  port = text.substr(colon + 1);
  if (host.empty()) error = "expected host:port (the host is empty)";
  return !host.empty();
}

}  // namespace

std::string intExpectation(const IntRule& rule) {
  if (!rule.reportRange) return "expected an integer";
  return "expected an integer " + std::to_string(rule.min) + ".." + std::to_string(rule.max);
}

std::optional<int64_t> parseInteger(std::string_view text, const IntRule& rule,
                                    std::string& error) {
  const bool negative = !text.empty() && text.front() == '-';
  if (!allDigits(negative ? text.substr(1) : text)) {
    error = intExpectation(rule);
    return std::nullopt;
  }
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  (void)end;
  if (ec == std::errc::result_out_of_range) {
    value = negative ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  if (value >= rule.min && value <= rule.max) return value;
  if (rule.reportRange) {
    error = intExpectation(rule);
  } else if (value < rule.min) {
    error = "must be >= " + std::to_string(rule.min);
  } else {
    error = "must be <= " + std::to_string(rule.max);
  }
  return std::nullopt;
}

std::optional<uint64_t> parseByteSize(std::string_view text, const ByteRule& rule,
                                      std::string& error) {
  const size_t digitsEnd =
      std::find_if(text.begin(), text.end(), [](char c) { return !isDigit(c); }) - text.begin();
  std::string_view unit = text.substr(digitsEnd);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (digitsEnd == 0) {
    error = kExpectByteSize;
    return std::nullopt;
  }
  const std::optional<uint64_t> multiplier = unitMultiplier(unit, error);
  if (!multiplier) return std::nullopt;
  uint64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digitsEnd, count);
  (void)end;
  const bool overflow = ec == std::errc::result_out_of_range ||
                        count > std::numeric_limits<uint64_t>::max() / *multiplier;
  if (overflow) {
    error = "must be <= " + formatByteSize(rule.max);
    return std::nullopt;
  }
  const uint64_t value = count * *multiplier;
  if (value < rule.min) {
    error = "must be >= " + formatByteSize(rule.min);
    return std::nullopt;
  }
  if (value > rule.max) {
    error = "must be <= " + formatByteSize(rule.max);
    return std::nullopt;
  }
  return value;
}

std::string formatByteSize(uint64_t bytes) {
  if (bytes != 0) {
    for (const auto& [shift, unit] : {std::pair{30, "GiB"}, {20, "MiB"}, {10, "KiB"}}) {
      if (bytes % (1ull << shift) == 0) return std::to_string(bytes >> shift) + unit;
    }
  }
  return std::to_string(bytes);
}

std::optional<bool> parseBool(std::string_view text, std::string& error) {
  const std::string lower = toLower(text);
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  error = kExpectBool;
  return std::nullopt;
}

std::optional<Endpoint> parseEndpoint(std::string_view text, std::string& error) {
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  if (!splitHostPort(text, host, port, bracketed, error)) return std::nullopt;
  if (!allDigits(port)) {
    error = kExpectHostPort;
    return std::nullopt;
  }
  std::string ignored;
  const std::optional<int64_t> portValue = parseInteger(port, IntRule{1, 65535, true}, ignored);
  if (!portValue) {
    error = "port must be 1..65535";
    return std::nullopt;
  }
  if (!validHost(host, bracketed, error)) return std::nullopt;
  return Endpoint{std::string(host), static_cast<uint16_t>(*portValue)};
}

}  // namespace config
