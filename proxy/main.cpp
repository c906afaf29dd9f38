// ringproxy entry point: flags -> load and validate config -> run the server until a
// termination signal. No logic beyond that. Exit codes: 0 ok, 1 start-up failure,
// 2 invalid config or usage.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "config/config_loader.h"
#include "config/twemproxy_import.h"
#include "proxy/log.h"
#include "proxy/server/server.h"
#include "proxy/server/tls_contexts.h"

namespace {

constexpr std::string_view kUsage =
    "usage: ringproxy --config FILE [--log-level debug|info|warn|error]\n"
    "       ringproxy --check FILE      validate FILE, print every problem, exit non-zero on any\n"
    "       ringproxy --from-twemproxy NUTCRACKER_YML [--pool NAME]\n"
    "                                   print the ringproxy config for a nutcracker pool\n"
    "       ringproxy --version\n";

int printErrors(const config::LoadResult& r, const std::string& path) {
  for (const auto& e : r.errors) std::cerr << path << ": " << e.str() << "\n";
  return 2;
}

// --from-twemproxy FILE [--pool NAME]: YAML on stdout so it can be redirected into a file
// as is; warnings and errors on stderr.
int fromTwemproxy(int argc, char** argv) {
  const bool withPool = argc == 5 && std::string_view(argv[3]) == "--pool";
  if (argc != 3 && !withPool) {
    std::cerr << kUsage;
    return 2;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || in.bad()) {
    std::cerr << "error: cannot read " << argv[2] << "\n";
    return 2;
  }
  const config::ImportResult result =
      config::importTwemproxy(text.str(), withPool ? argv[4] : std::string_view());
  for (const auto& w : result.warnings) std::cerr << "warning: " << w << "\n";
  for (const auto& e : result.errors) std::cerr << "error: " << argv[2] << ": " << e << "\n";
  if (!result.ok()) return 2;
  std::cout << result.yaml;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    std::cout << "ringproxy 0.1.0\n";
    return 0;
  }
  if (argc >= 2 && std::string_view(argv[1]) == "--from-twemproxy") {
    return fromTwemproxy(argc, argv);
  }
  // --config FILE | --check FILE, optionally followed by --log-level LEVEL.
  const bool withLevel = argc == 5 && std::string_view(argv[3]) == "--log-level";
  if ((argc != 3 && !withLevel) ||
      (std::string_view(argv[1]) != "--config" && std::string_view(argv[1]) != "--check")) {
    std::cerr << kUsage;
    return 2;
  }
  logx::Level flagLevel = logx::Level::Info;
  if (withLevel && !logx::parseLevel(argv[4], flagLevel)) {
    std::cerr << "--log-level: expected debug, info, warn or error\n";
    return 2;
  }
  const std::string path = argv[2];
  config::LoadResult loaded = config::loadConfigFile(path);
  if (!loaded.config) return printErrors(loaded, path);
  if (std::string_view(argv[1]) == "--check") {
    std::string tlsError;  // certificate files are part of the config's validity
    if (!proxy::buildTlsContexts(*loaded.config, &tlsError)) {
      std::cerr << path << ": " << tlsError << "\n";
      return 2;
    }
    std::cout << path << ": OK (" << loaded.config->shards.size() << " shards)\n";
    return 0;
  }
  logx::Level level = logx::Level::Info;
  if (logx::parseLevel(loaded.config->logLevel, level)) logx::setLevel(level);
  if (withLevel) logx::setLevel(flagLevel);  // the flag wins over the file
  try {
    proxy::Server server(std::make_shared<const config::ProxyConfig>(std::move(*loaded.config)));
    return server.run();
  } catch (const std::exception& e) {
    logx::error(std::string("start-up failed: ") + e.what());
    return 1;
  }
}
