// Inputs that once made the YAML layer misbehave (found by fuzz_config_loader): each must be
// rejected promptly with a path-less error, never loop or exhaust memory.
#include <catch2/catch.hpp>

#include "config/config_loader.h"

TEST_CASE("yaml: inputs yaml-cpp 0.7 turns into endless empty documents are rejected") {
  for (const char* text : {",", "!gr,ts6*8", "listen: 127.0.0.1:6380\n,\n"}) {
    const auto r = config::loadConfigText(text);
    CHECK_FALSE(r.config);
    REQUIRE(r.errors.size() == 1);  // reaching this line at all is the point: no endless loop
    CHECK(r.errors[0].path.empty());
  }
}
