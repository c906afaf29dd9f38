// ConfigReloader: inotify watch, debounce, load, reconcile, apply.
#include "proxy/server/config_reloader.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio.hpp>

#include <array>
#include <chrono>
#include <filesystem>

#include "config/config_diff.h"
#include "config/config_loader.h"
#include "proxy/log.h"
#include "proxy/server/tls_contexts.h"

namespace proxy {

namespace asio = boost::asio;

struct ConfigReloader::Impl {
  Impl(asio::io_context& io, std::shared_ptr<const config::ProxyConfig> r, Apply a, metrics::ReloadStats& s)
      : ioc(io), running(std::move(r)), apply(std::move(a)), stats(s), events(io), debounce(io) {}

  asio::io_context& ioc;
  std::shared_ptr<const config::ProxyConfig> running;
  Apply apply;
  metrics::ReloadStats& stats;
  asio::posix::stream_descriptor events;
  asio::steady_timer debounce;
  std::array<char, 4096> buffer{};
  std::string fileName;

  void watch();
  void onEvents(size_t n);
  void reload(std::string_view trigger);
  void reject(const std::vector<config::ConfigError>& errors, std::string_view trigger);
};

void ConfigReloader::Impl::watch() {
  events.async_read_some(asio::buffer(buffer), [this](const boost::system::error_code& ec, size_t n) {
    if (ec) return;  // closed at shutdown
    onEvents(n);
    watch();
  });
}

// Several events arrive for one save (truncate, write, close; or create, rename): wait a
// moment and reload once.
void ConfigReloader::Impl::onEvents(size_t n) {
  bool ours = false;
  for (size_t off = 0; off + sizeof(inotify_event) <= n;) {
    const auto* ev = reinterpret_cast<const inotify_event*>(buffer.data() + off);
    if (ev->len > 0 && fileName == ev->name) ours = true;
    off += sizeof(inotify_event) + ev->len;
  }
  if (!ours) return;
  debounce.expires_after(std::chrono::milliseconds(100));
  debounce.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) reload("file changed");
  });
}

void ConfigReloader::Impl::reject(const std::vector<config::ConfigError>& errors, std::string_view trigger) {
  stats.failure.fetch_add(1, std::memory_order_relaxed);
  logx::warn("config reload rejected trigger=\"" + std::string(trigger) + "\" file=" + running->sourcePath +
             " errors=" + std::to_string(errors.size()) + "; the running config stays");
  for (const auto& e : errors) logx::warn("config error " + e.str());
}

void ConfigReloader::Impl::reload(std::string_view trigger) {
  config::LoadResult loaded = config::loadConfigFile(running->sourcePath);
  if (!loaded.config) return reject(loaded.errors, trigger);
  std::string tlsError;  // certificate files are checked by loading them, as at start-up
  if (!buildTlsContexts(*loaded.config, &tlsError)) {
    const size_t colon = tlsError.find(": ");
    return reject({config::ConfigError{tlsError.substr(0, colon), tlsError.substr(colon + 2)}}, trigger);
  }
  config::ReloadPlan plan = config::planReload(*running, *loaded.config);
  for (const std::string& note : plan.notes) logx::warn("config reload: " + note);
  auto next = std::make_shared<const config::ProxyConfig>(std::move(plan.effective));
  logx::Level level = logx::Level::Info;
  if (logx::parseLevel(next->logLevel, level)) logx::setLevel(level);
  running = next;
  apply(next);
  stats.success.fetch_add(1, std::memory_order_relaxed);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  stats.lastSuccessUnix.store(std::chrono::duration<double>(now).count(), std::memory_order_relaxed);
  logx::info("config reloaded trigger=\"" + std::string(trigger) + "\" config_digest=" + next->digest +
             " not_applied=" + std::to_string(plan.notes.size()));
}

ConfigReloader::ConfigReloader(asio::io_context& ioc, std::shared_ptr<const config::ProxyConfig> running,
                               Apply apply, metrics::ReloadStats& stats)
    : impl_(std::make_unique<Impl>(ioc, std::move(running), std::move(apply), stats)) {}

ConfigReloader::~ConfigReloader() = default;

void ConfigReloader::start() {
  const std::string& path = impl_->running->sourcePath;
  if (path.empty()) return;
  const std::filesystem::path file(path);
  const std::string dir = file.has_parent_path() ? file.parent_path().string() : std::string(".");
  impl_->fileName = file.filename().string();
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0 || ::inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
    if (fd >= 0) ::close(fd);
    logx::warn("config file watch unavailable dir=" + dir + "; reload with SIGHUP");
    return;
  }
  impl_->events.assign(fd);
  impl_->watch();
}

void ConfigReloader::reload(std::string_view trigger) { impl_->reload(trigger); }

}  // namespace proxy
