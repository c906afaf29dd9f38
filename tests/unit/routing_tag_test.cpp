// The hash-tag rule (routing/hash_tag.h), case by case. The same rule decides multi-key
// co-location in the proxy, so each edge here is a promise to clients: keys sharing a
// non-empty tag land together; a key with an empty or unmatched tag hashes whole.
#include <catch2/catch.hpp>

#include "routing/hash_tag.h"

using routing::routingKey;

TEST_CASE("a non-empty {tag} selects just its content", "[routing][tag]") {
  CHECK(routingKey("{user1000}.following", "{}") == "user1000");
  CHECK(routingKey("foo{bar}", "{}") == "bar");  // tag at the end
  CHECK(routingKey("{a}", "{}") == "a");
  CHECK(routingKey("x{y}z", "{}") == "y");
}

TEST_CASE("only the first opening char and the first closing char after it count",
          "[routing][tag]") {
  CHECK(routingKey("a{b}c{d}", "{}") == "b");
  CHECK(routingKey("{{a}}", "{}") == "{a");
  CHECK(routingKey("}{x}", "{}") == "x");  // a close before the open is ignored
  CHECK(routingKey("{a{b}", "{}") == "a{b");
}

TEST_CASE("empty or unmatched tags hash the whole key", "[routing][tag]") {
  CHECK(routingKey("{}", "{}") == "{}");
  CHECK(routingKey("foo{}bar", "{}") == "foo{}bar");
  CHECK(routingKey("foo{}{bar}", "{}") == "foo{}{bar}");  // first open decides; it is empty
  CHECK(routingKey("foo{bar", "{}") == "foo{bar");
  CHECK(routingKey("foo}bar", "{}") == "foo}bar");
  CHECK(routingKey("plain", "{}") == "plain");
  CHECK(routingKey("", "{}") == "");
  CHECK(routingKey("{", "{}") == "{");
}

TEST_CASE("an empty tag setting disables tags", "[routing][tag]") {
  CHECK(routingKey("{user1000}.following", "") == "{user1000}.following");
  CHECK(routingKey("", "") == "");
}

TEST_CASE("other tag characters, including identical open and close", "[routing][tag]") {
  CHECK(routingKey("user:[42]:name", "[]") == "42");
  CHECK(routingKey("user:{42}:name", "[]") == "user:{42}:name");
  CHECK(routingKey("a$tag$b", "$$") == "tag");
  CHECK(routingKey("a$$b", "$$") == "a$$b");
  CHECK(routingKey("$x", "$$") == "$x");
}

TEST_CASE("binary keys are handled byte for byte", "[routing][tag]") {
  const std::string key("\0{\xff\0}\0", 6);
  CHECK(routingKey(key, "{}") == std::string("\xff\0", 2));
}
