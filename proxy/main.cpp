// ringproxy entry point: flags -> load and validate config -> run the server until a
// termination signal. No logic beyond that. Exit codes: 0 ok, 1 start-up failure,
// 2 invalid config or usage.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "config/config_loader.h"
#include "proxy/log.h"
#include "proxy/server/server.h"

namespace {

constexpr std::string_view kUsage =
    "usage: ringproxy --config FILE     run the proxy\n"
    "       ringproxy --check FILE      validate FILE, print every problem, exit non-zero on any\n"
    "       ringproxy --version\n";

int printErrors(const config::LoadResult& r, const std::string& path) {
  for (const auto& e : r.errors) std::cerr << path << ": " << e.str() << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    std::cout << "ringproxy 0.1.0\n";
    return 0;
  }
  if (argc != 3 || (std::string_view(argv[1]) != "--config" && std::string_view(argv[1]) != "--check")) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string path = argv[2];
  config::LoadResult loaded = config::loadConfigFile(path);
  if (!loaded.config) return printErrors(loaded, path);
  if (std::string_view(argv[1]) == "--check") {
    std::cout << path << ": OK (" << loaded.config->shards.size() << " shards)\n";
    return 0;
  }
  logx::Level level = logx::Level::Info;
  if (logx::parseLevel(loaded.config->logLevel, level)) logx::setLevel(level);
  try {
    proxy::Server server(std::make_shared<const config::ProxyConfig>(std::move(*loaded.config)));
    return server.run();
  } catch (const std::exception& e) {
    logx::error(std::string("start-up failed: ") + e.what());
    return 1;
  }
}
