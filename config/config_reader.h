// The walking machinery of config validation: an error list that keeps going after the
// first problem, a Section view of one YAML mapping (unknown/duplicate keys reported on
// construction), and typed field readers that put the field's path on every message.
// Called by: config_loader.cpp, which describes the config's shape in terms of these.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_fields.h"
#include "config/config_loader.h"
#include "config/yaml_document.h"

namespace config {

class ErrorList {
 public:
  void add(std::string path, std::string message);
  // Cross-field checks skip values whose own parse failed: the default left in their
  // place would only produce a second, misleading error.
  bool hasErrorAt(std::string_view path) const;
  bool empty() const { return errors_.empty(); }
  std::vector<ConfigError> take() { return std::move(errors_); }

 private:
  std::vector<ConfigError> errors_;
};

std::string childPath(std::string_view parent, std::string_view key);  // "ring.hash", "listen"
std::string itemPath(std::string_view parent, size_t index);           // "shards[1]"

class Section {
 public:
  // `node` null (key absent) or Null (`metrics:` with nothing under it) both mean "all
  // defaults", so commenting out every child of a section is not an error.
  Section(ErrorList& errors, const YamlNode* node, std::string path,
          std::initializer_list<std::string_view> keys);

  // False when the node was present but not a mapping (already reported).
  bool valid() const { return valid_; }
  // The value under `key`, or null when absent. Duplicates resolve to the first.
  const YamlNode* find(std::string_view key) const;
  std::string pathOf(std::string_view key) const { return childPath(path_, key); }
  void fail(std::string_view key, std::string message) const;
  ErrorList& errors() const { return errors_; }
  const std::string& path() const { return path_; }

 private:
  ErrorList& errors_;
  std::string path_;
  std::vector<const YamlNode*> fields_;  // children with a known key, first occurrence each
  bool valid_ = true;
};

// Every reader leaves `out` untouched when the key is absent (the default stands) or the
// value is invalid (error recorded at the field's path), and returns true only when it
// stored a value.
// The scalar text under `key`; a list, mapping or null there reports `expectation`.
const std::string* readScalar(const Section& section, std::string_view key,
                              std::string_view expectation);
bool readUint32(const Section& section, std::string_view key, const IntRule& rule,
                uint32_t& out);
bool readBytes(const Section& section, std::string_view key, const ByteRule& rule,
               uint64_t& out);
bool readBool(const Section& section, std::string_view key, bool& out);
bool readEndpoint(const Section& section, std::string_view key, Endpoint& out);

}  // namespace config
