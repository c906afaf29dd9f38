// Nutcracker: config rendering, start-up, readiness; see nutcracker.h.
// Called by the ketama comparison test and the harness self-test.
#include "tests/support/nutcracker.h"

#include <sstream>
#include <stdexcept>

#include "tests/support/net.h"

namespace testsupport {

namespace {
constexpr const char* kNutcracker = "/usr/sbin/nutcracker";
constexpr std::chrono::milliseconds kReadyTimeout{10000};
constexpr int kAttempts = 3;
}  // namespace

Nutcracker::Nutcracker(const TempDir& dir, std::vector<NutcrackerServer> servers,
                       std::string hash, std::string name)
    : dir_(dir), servers_(std::move(servers)), hash_(std::move(hash)), name_(std::move(name)) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (launch()) return;
    if (process_->running()) break;
  }
  throw std::runtime_error(name_ + " did not answer GET within 10 s; config " + configPath_ +
                           "; log tail:\n" + process_->logTail(60));
}

std::string Nutcracker::renderYaml() const {
  std::ostringstream y;
  y << "rp_it:\n"
    << "  listen: 127.0.0.1:" << port_ << "\n"
    << "  hash: " << hash_ << "\n"
    << "  hash_tag: \"{}\"\n"
    << "  distribution: ketama\n"
    << "  redis: true\n"
    << "  preconnect: true\n"
    << "  auto_eject_hosts: false\n"
    << "  timeout: 5000\n"
    << "  server_connections: 1\n"
    << "  servers:\n";
  for (const auto& s : servers_) {
    y << "   - 127.0.0.1:" << s.port << ":" << s.weight << " " << s.name << "\n";
  }
  return y.str();
}

bool Nutcracker::launch() {
  if (process_) process_->stop();
  port_ = pickFreePort();
  statsPort_ = pickFreePort();
  configPath_ = dir_.writeFile(name_ + ".yml", renderYaml());
  std::string log = dir_.file(name_ + ".log");
  process_ = std::make_unique<Process>(
      std::vector<std::string>{kNutcracker, "-c", configPath_, "-s", std::to_string(statsPort_),
                               "-a", "127.0.0.1", "-o", log, "-p",
                               dir_.file(name_ + ".pid")},
      log, /*dumpOnFailure=*/true);
  return waitUntil(
      [&] {
        if (!process_->running()) return true;
        auto c = Client::tryConnect(port_, std::chrono::milliseconds(500));
        if (!c) return false;
        Reply r = c->cmd({"GET", "__rp_it_ready__"});
        return !r.isError();
      },
      kReadyTimeout) &&
         process_->running();
}

Client Nutcracker::client(std::chrono::milliseconds timeout) const {
  return Client(port_, timeout);
}

}  // namespace testsupport
