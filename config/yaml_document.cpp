// yaml-cpp -> YamlNode conversion: the only translation unit that includes yaml-cpp.
// Called by: loadConfigText (config_loader.cpp) through parseYaml().
#include "config/yaml_document.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sstream>

#include <new>

namespace config {
namespace {

// Aliases are expanded while copying into the tree, so a few lines of anchors can
// describe an exponentially large (or, through self-reference, endless) document.
// A real config has a few dozen nodes and a handful of levels.
constexpr int kMaxDepth = 64;
constexpr size_t kMaxNodes = 100000;

class Converter {
 public:
  // Returns false (and sets error()) when a limit is exceeded.
  bool convert(const YAML::Node& in, YamlNode& out, int depth) {
    if (depth > kMaxDepth) {
      return fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    if (++nodes_ > kMaxNodes) return fail("more than " + std::to_string(kMaxNodes) + " nodes");
    switch (in.Type()) {
      case YAML::NodeType::Scalar:
        out.kind = YamlNode::Kind::Scalar;
        out.scalar = in.Scalar();
        return true;
      case YAML::NodeType::Sequence:
        out.kind = YamlNode::Kind::Sequence;
        for (const YAML::Node& item : in) {
          if (!convert(item, out.children.emplace_back(), depth + 1)) return false;
        }
        return true;
      case YAML::NodeType::Map:
        out.kind = YamlNode::Kind::Mapping;
        for (const auto& entry : in) {
          YamlNode& child = out.children.emplace_back();
          child.keyIsScalar = entry.first.IsScalar();
          if (child.keyIsScalar) child.key = entry.first.Scalar();
          if (!convert(entry.second, child, depth + 1)) return false;
        }
        return true;
      default:  // Null, Undefined
        out.kind = YamlNode::Kind::Null;
        return true;
    }
  }

  const std::string& error() const { return error_; }

 private:
  bool fail(std::string message) {
    error_ = "document too large: " + std::move(message);
    return false;
  }

  size_t nodes_ = 0;
  std::string error_;
};

std::string describe(const YAML::Exception& e) {
  if (e.mark.is_null()) return "invalid YAML: " + e.msg;
  return "invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
         std::to_string(e.mark.column + 1) + ": " + e.msg;
}

YamlDocument failed(std::string message) {
  YamlDocument doc;
  doc.error = ConfigError{"", std::move(message)};
  return doc;
}

}  // namespace

// Counts documents without building them, and stops at `limit`: yaml-cpp 0.7's parser can
// report empty documents forever on some inputs (a lone ',', found by fuzz_config_loader;
// upstream jbeder/yaml-cpp#1040), which makes YAML::LoadAll loop until memory runs out.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

size_t countDocuments(const std::string& text, size_t limit) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  size_t n = 0;
  while (n < limit && parser.HandleNextDocument(counter)) ++n;
  return n;
}

YamlDocument parseYaml(std::string_view text) {
  try {
    const std::string owned(text);
    constexpr size_t kLimit = 16;
    const size_t documents = countDocuments(owned, kLimit);
    if (documents > 1) {
      return failed("expected one YAML document, found " + std::to_string(documents) +
                    (documents == kLimit ? " or more" : ""));
    }
    YamlDocument doc;
    if (documents == 0) return doc;
    Converter converter;
    if (!converter.convert(YAML::Load(owned), doc.root, 0)) return failed(converter.error());
    return doc;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const YAML::Exception& e) {
    return failed(describe(e));
  } catch (const std::exception& e) {
    // yaml-cpp documents only YAML::Exception, but nothing may escape the loader.
    return failed(std::string("invalid YAML: ") + e.what());
  }
}

}  // namespace config
