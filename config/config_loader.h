// Loading and validating a ringproxy YAML file into config::ProxyConfig.
// Every problem is reported with the path of the field ("shards[1].address: expected
// host:port"); unknown keys are errors; a file with any error yields no config at all.
// Called by: main (--config, --check) and the reloader. May throw only std::bad_alloc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/proxy_config.h"

namespace config {

struct ConfigError {
  std::string path;     // "shards[1].address"; "" for file-level problems
  std::string message;  // "expected host:port"
  std::string str() const { return path.empty() ? message : path + ": " + message; }
};

struct LoadResult {
  std::optional<ProxyConfig> config;  // set only when errors is empty
  std::vector<ConfigError> errors;
};

LoadResult loadConfigText(std::string_view yamlText);
LoadResult loadConfigFile(const std::string& path);

// The ring a config describes (shards -> routing::ShardSpec in file order).
std::vector<routing::ShardSpec> ringShards(const ProxyConfig& cfg);

}  // namespace config
