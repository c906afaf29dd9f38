// stderr logger: "<UTC time> <level> <message>" lines, written with one write(2) each so
// lines from different threads never interleave.
#include "proxy/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <string>

namespace logx {

namespace {
std::atomic<int> gLevel{static_cast<int>(Level::Info)};
constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void setLevel(Level level) { gLevel.store(static_cast<int>(level)); }

bool parseLevel(std::string_view name, Level& out) {
  for (int i = 0; i < 4; ++i) {
    if (kNames[i] == name) {
      out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

bool enabled(Level level) { return static_cast<int>(level) >= gLevel.load(std::memory_order_relaxed); }

void write(Level level, std::string_view line) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::string out(stamp);
  out += kNames[static_cast<int>(level)];
  out += ' ';
  out += line;
  out += '\n';
  ssize_t ignored = ::write(STDERR_FILENO, out.data(), out.size());
  (void)ignored;
}

}  // namespace logx
