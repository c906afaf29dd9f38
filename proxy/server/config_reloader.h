// ConfigReloader: live reload of the config file, on SIGHUP (Server calls reload()) and
// whenever the file changes (inotify on its directory, so an editor that writes a new
// file and renames it over the old one is seen too).
// A reload loads and validates the whole file; a bad file is rejected whole (every
// problem logged with its path) and the running config stays. A good one is reconciled
// with the running config by config::planReload (what needs a restart is reported, not
// half-applied) and handed to `apply`, which posts it to every worker.
// Runs on the main thread's io_context. Owned by proxy::Server.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "config/proxy_config.h"
#include "proxy/metrics/worker_cells.h"

namespace boost::asio {
class io_context;
}

namespace proxy {

class ConfigReloader {
 public:
  using Apply = std::function<void(std::shared_ptr<const config::ProxyConfig>)>;

  ConfigReloader(boost::asio::io_context& ioc, std::shared_ptr<const config::ProxyConfig> running,
                 Apply apply, metrics::ReloadStats& stats);
  ~ConfigReloader();

  // Starts watching the file the running config was loaded from.
  void start();
  void reload(std::string_view trigger);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace proxy
