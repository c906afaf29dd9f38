// Tests of the scalar parsers behind config fields: byte sizes, integers, booleans and
// endpoints, on their own (the loader tests cover how they are wired to paths).
#include <catch2/catch.hpp>

#include "config/config_fields.h"

namespace {

std::optional<uint64_t> bytes(std::string_view text, std::string* error = nullptr) {
  std::string ignored;
  return config::parseByteSize(text, config::ByteRule{0, UINT64_MAX}, error ? *error : ignored);
}

}  // namespace

TEST_CASE("byte sizes: plain counts and 1024-based units", "[config][fields]") {
  CHECK(bytes("0") == 0u);
  CHECK(bytes("65536") == 65536u);
  CHECK(bytes("10B") == 10u);
  CHECK(bytes("1KiB") == 1024u);
  CHECK(bytes("64MiB") == 64ull << 20);
  CHECK(bytes("1GiB") == 1ull << 30);
  CHECK(bytes("3 MiB") == 3ull << 20);
  CHECK(bytes("2kib") == 2048u);
  CHECK(bytes("2GIB") == 2ull << 30);
  CHECK(bytes("18446744073709551615") == UINT64_MAX);
}

TEST_CASE("byte sizes: rejected forms", "[config][fields]") {
  for (const char* text : {"", "MiB", "-1", "1.5GiB", "1 TiB", "1  MiB", "1MiBs", "0x10", " 1"}) {
    std::string error;
    CAPTURE(text);
    CHECK_FALSE(bytes(text, &error));
    CHECK(error == "expected a byte size like 65536, 512KiB, 64MiB or 1GiB");
  }
  for (const char* unit : {"k", "KB", "m", "MB", "g", "GB", "gb"}) {
    std::string error;
    CHECK_FALSE(bytes(std::string("1") + unit, &error));
    CHECK(error == std::string("ambiguous unit '") + unit +
                       "': use KiB, MiB or GiB (1024-based) or a plain byte count");
  }
  std::string error;
  CHECK_FALSE(bytes("18446744073709551616", &error));
  CHECK(error == "must be <= 18446744073709551615");
  CHECK_FALSE(bytes("17179869184GiB", &error));
  CHECK(error == "must be <= 18446744073709551615");
  CHECK_FALSE(config::parseByteSize("1023", config::ByteRule{1024, 2048}, error));
  CHECK(error == "must be >= 1KiB");
  CHECK_FALSE(config::parseByteSize("3KiB", config::ByteRule{1024, 2048}, error));
  CHECK(error == "must be <= 2KiB");
}

TEST_CASE("formatByteSize picks the largest exact unit", "[config][fields]") {
  CHECK(config::formatByteSize(0) == "0");
  CHECK(config::formatByteSize(1000) == "1000");
  CHECK(config::formatByteSize(1536) == "1536");
  CHECK(config::formatByteSize(2048) == "2KiB");
  CHECK(config::formatByteSize(64ull << 20) == "64MiB");
  CHECK(config::formatByteSize(1ull << 40) == "1024GiB");
}

TEST_CASE("integers: decimal only, bounds reported by style", "[config][fields]") {
  std::string error;
  const config::IntRule open{1, 100};
  CHECK(config::parseInteger("42", open, error) == 42);
  CHECK_FALSE(config::parseInteger("+42", open, error));
  CHECK(error == "expected an integer");
  CHECK_FALSE(config::parseInteger("010x", open, error));
  CHECK_FALSE(config::parseInteger("-", open, error));
  CHECK(error == "expected an integer");
  CHECK_FALSE(config::parseInteger("0", open, error));
  CHECK(error == "must be >= 1");
  CHECK_FALSE(config::parseInteger("-99999999999999999999", open, error));
  CHECK(error == "must be >= 1");
  CHECK_FALSE(config::parseInteger("101", open, error));
  CHECK(error == "must be <= 100");
  const config::IntRule closed{0, 8, true};
  CHECK_FALSE(config::parseInteger("9", closed, error));
  CHECK(error == "expected an integer 0..8");
  CHECK(config::parseInteger("010", open, error) == 10);  // decimal, not YAML 1.1 octal
}

TEST_CASE("booleans", "[config][fields]") {
  std::string error;
  for (const char* yes : {"true", "True", "TRUE", "yes", "on"}) {
    CHECK(config::parseBool(yes, error) == true);
  }
  for (const char* no : {"false", "False", "no", "off", "OFF"}) {
    CHECK(config::parseBool(no, error) == false);
  }
  CHECK_FALSE(config::parseBool("1", error));
  CHECK(error == "expected true or false");
}

TEST_CASE("endpoints", "[config][fields]") {
  std::string error;
  std::optional<config::Endpoint> e = config::parseEndpoint("redis_1:6379", error);
  REQUIRE(e);
  CHECK(e->host == "redis_1");
  CHECK(e->port == 6379);
  e = config::parseEndpoint("[2001:db8::1]:65535", error);
  REQUIRE(e);
  CHECK(e->host == "2001:db8::1");
  CHECK(e->str() == "[2001:db8::1]:65535");
  e = config::parseEndpoint("[fe80::1%eth0]:1", error);
  REQUIRE(e);
  CHECK(e->host == "fe80::1%eth0");
  CHECK_FALSE(config::parseEndpoint("[fe80::1%]:1", error));
  CHECK(error == "invalid IPv6 address '[fe80::1%]'");
  CHECK_FALSE(config::parseEndpoint("[]:1", error));
  CHECK(error == "expected host:port (the host is empty)");
  CHECK_FALSE(config::parseEndpoint("a..b:1", error));
  CHECK(error == "invalid host name 'a..b'");
  CHECK_FALSE(config::parseEndpoint(std::string(64, 'a') + ":1", error));
  CHECK(error == "invalid host name '" + std::string(64, 'a') + "'");
  CHECK(config::parseEndpoint(std::string(63, 'a') + ".example:1", error));
}
