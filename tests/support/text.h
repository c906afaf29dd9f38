// cat(): builds a string from mixed parts ("key:", 12, ...) for tests and harness messages.
// (It also sidesteps GCC 12's false -Wrestrict on `"literal" + std::to_string(n)`.)
// Owns: nothing. Called by: the integration tests and support classes.
#pragma once

#include <sstream>
#include <string>

namespace testsupport {

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream ss;
  (ss << ... << parts);
  return ss.str();
}

}  // namespace testsupport
