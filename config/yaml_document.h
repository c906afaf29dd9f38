// A YAML document as a plain tree, so that config validation never touches yaml-cpp.
// Owns: the YamlNode tree type and parseYaml(). Only yaml_document.cpp includes yaml-cpp;
// keeping it behind this tree means its exceptions and its throwing accessors
// (node["a"]["b"] on a missing "a") cannot leak into the validation code.
// Called by: config_loader.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_loader.h"

namespace config {

struct YamlNode {
  enum class Kind { Null, Scalar, Sequence, Mapping };

  Kind kind = Kind::Null;
  std::string scalar;  // Scalar only, as written (quotes removed)
  // Set on each child of a Mapping. Duplicate keys are kept (yaml-cpp 0.7 accepts them),
  // so that validation can report them instead of silently using one.
  std::string key;
  bool keyIsScalar = true;  // false for complex keys ("[a, b]: 1"), which configs never need
  std::vector<YamlNode> children;  // Sequence items or Mapping values, in file order

  bool isNull() const { return kind == Kind::Null; }
  bool isScalar() const { return kind == Kind::Scalar; }
  bool isSequence() const { return kind == Kind::Sequence; }
  bool isMapping() const { return kind == Kind::Mapping; }
};

struct YamlDocument {
  YamlNode root;                     // Null for an empty document
  std::optional<ConfigError> error;  // syntax error (with line/column); root is then Null
};

// Never throws except std::bad_alloc.
YamlDocument parseYaml(std::string_view text);

}  // namespace config
