// Minimal levelled logging to stderr: one line per event, key=value fields after the
// message. Thread-safe (one write(2) per line). Called from everywhere in proxy/.
#pragma once

#include <string_view>

namespace logx {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void setLevel(Level level);
bool parseLevel(std::string_view name, Level& out);
bool enabled(Level level);
void write(Level level, std::string_view line);

inline void debug(std::string_view line) { if (enabled(Level::Debug)) write(Level::Debug, line); }
inline void info(std::string_view line) { if (enabled(Level::Info)) write(Level::Info, line); }
inline void warn(std::string_view line) { if (enabled(Level::Warn)) write(Level::Warn, line); }
inline void error(std::string_view line) { write(Level::Error, line); }

}  // namespace logx
