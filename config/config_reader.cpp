// Section walking and typed field readers for config validation (see config_reader.h).
// Called by: config_loader.cpp.
#include "config/config_reader.h"

#include <algorithm>
#include <optional>

namespace config {
namespace {

// Reads `key` through `parse` (text, error) -> optional<T>, storing into `out`.
template <class T, class Parse>
bool readParsed(const Section& section, std::string_view key, std::string_view expectation,
                T& out, Parse parse) {
  const std::string* text = readScalar(section, key, expectation);
  if (text == nullptr) return false;
  std::string error;
  auto value = parse(*text, error);
  if (!value) {
    section.fail(key, std::move(error));
    return false;
  }
  out = static_cast<T>(*value);
  return true;
}

}  // namespace

void ErrorList::add(std::string path, std::string message) {
  errors_.push_back(ConfigError{std::move(path), std::move(message)});
}

bool ErrorList::hasErrorAt(std::string_view path) const {
  return std::any_of(errors_.begin(), errors_.end(),
                     [&](const ConfigError& e) { return e.path == path; });
}

std::string childPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

std::string itemPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

Section::Section(ErrorList& errors, const YamlNode* node, std::string path,
                 std::initializer_list<std::string_view> keys)
    : errors_(errors), path_(std::move(path)) {
  if (node == nullptr || node->isNull()) return;
  if (!node->isMapping()) {
    errors_.add(path_, "expected a mapping");
    valid_ = false;
    return;
  }
  for (const YamlNode& child : node->children) {
    if (!child.keyIsScalar) {
      errors_.add(path_, "keys must be plain strings");
    } else if (std::find(keys.begin(), keys.end(), child.key) == keys.end()) {
      errors_.add(pathOf(child.key), "unknown key");
    } else if (find(child.key) != nullptr) {
      errors_.add(pathOf(child.key), "duplicate key");
    } else {
      fields_.push_back(&child);
    }
  }
}

const YamlNode* Section::find(std::string_view key) const {
  for (const YamlNode* field : fields_) {
    if (field->key == key) return field;
  }
  return nullptr;
}

void Section::fail(std::string_view key, std::string message) const {
  errors_.add(pathOf(key), std::move(message));
}

const std::string* readScalar(const Section& section, std::string_view key,
                              std::string_view expectation) {
  const YamlNode* node = section.find(key);
  if (node == nullptr) return nullptr;
  if (!node->isScalar()) {
    section.fail(key, std::string(expectation));
    return nullptr;
  }
  return &node->scalar;
}

bool readUint32(const Section& section, std::string_view key, const IntRule& rule,
                uint32_t& out) {
  return readParsed(section, key, intExpectation(rule), out,
                    [&](const std::string& text, std::string& error) {
                      return parseInteger(text, rule, error);
                    });
}

bool readBytes(const Section& section, std::string_view key, const ByteRule& rule,
               uint64_t& out) {
  return readParsed(section, key, kExpectByteSize, out,
                    [&](const std::string& text, std::string& error) {
                      return parseByteSize(text, rule, error);
                    });
}

bool readBool(const Section& section, std::string_view key, bool& out) {
  return readParsed(section, key, kExpectBool, out, parseBool);
}

bool readEndpoint(const Section& section, std::string_view key, Endpoint& out) {
  return readParsed(section, key, kExpectHostPort, out, parseEndpoint);
}

}  // namespace config
