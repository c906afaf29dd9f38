// The migration state file (proxy/migration/migration_state.h): text encoding with a
// trailing checksum, atomic replacement on save, strict line-by-line parsing on load.
// Called by: the proxy's migration control and tests/unit/migration_state_test.cpp.
#include "proxy/migration/migration_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "routing/hash_fn.h"

namespace mig {
namespace {

constexpr std::string_view kMagic = "ringproxy-migration-state";
constexpr uint32_t kVersion = 1;
constexpr std::string_view kChecksumKeyword = "checksum ";

bool fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

std::string systemError(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string quote(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c > 0x20 && c < 0x7f && c != '%' && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out + "\"";
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool unquote(std::string_view token, std::string* out) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return false;
  out->clear();
  for (size_t i = 1; i + 1 < token.size(); ++i) {
    if (token[i] == '"') return false;
    if (token[i] != '%') {
      *out += token[i];
      continue;
    }
    if (i + 2 >= token.size() - 1) return false;  // the escape runs into the closing quote
    const int hi = hexValue(token[i + 1]);
    const int lo = hexValue(token[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

template <typename T>
bool parseNumber(std::string_view s, T* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

std::string_view distributionName(routing::Distribution d) {
  return d == routing::Distribution::Ketama ? "ketama" : "vnodes";
}

std::optional<routing::Distribution> distributionFromName(std::string_view name) {
  if (name == "vnodes") return routing::Distribution::Vnodes;
  if (name == "ketama") return routing::Distribution::Ketama;
  return std::nullopt;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The invariants a resumable migration needs; checked on save and on load so a file this
// code wrote always loads back.
bool checkConsistent(const MigrationState& s, std::string* error) {
  if (s.fromShards.size() != s.toShards.size()) {
    return fail(error, "from_shards and to_shards differ in length");
  }
  for (size_t i = 0; i < s.fromShards.size(); ++i) {
    if (s.fromShards[i].name != s.toShards[i].name) {
      return fail(error, "from_shards and to_shards differ at shard " + std::to_string(i));
    }
  }
  if (s.cursors.size() != s.fromShards.size()) {
    return fail(error, "cursors must be one a shard");
  }
  return true;
}

void appendShards(std::string& out, std::string_view keyword,
                  const std::vector<routing::ShardSpec>& shards) {
  out += std::string(keyword) + " " + std::to_string(shards.size()) + "\n";
  for (const routing::ShardSpec& s : shards) {
    out += "shard " + quote(s.name) + " " + std::to_string(s.weight) + "\n";
  }
}

std::string serialize(const MigrationState& s) {
  std::string out = std::string(kMagic) + " " + std::to_string(kVersion) + "\n";
  out += "epoch " + std::to_string(s.epoch) + "\n";
  out += "distribution " + std::string(distributionName(s.options.distribution)) + "\n";
  out += "hash " + std::string(routing::hashKindName(s.options.hash)) + "\n";
  out += "hash_tag " + quote(s.options.hashTag) + "\n";
  out += "vnodes_per_weight " + std::to_string(s.options.vnodesPerWeight) + "\n";
  out += "from_digest " + quote(s.fromDigest) + "\n";
  out += "to_digest " + quote(s.toDigest) + "\n";
  appendShards(out, "from_shards", s.fromShards);
  appendShards(out, "to_shards", s.toShards);
  out += "addresses " + std::to_string(s.addresses.size()) + "\n";
  for (const auto& [name, address] : s.addresses) {
    out += "address " + quote(name) + " " + quote(address) + "\n";
  }
  out += "cursors " + std::to_string(s.cursors.size()) + "\n";
  for (const SourceCursor& c : s.cursors) {
    out += "cursor " + std::to_string(c.cursor) + " " + std::to_string(c.pass) + "\n";
  }
  return out;
}

// Reads the body (checksum already verified) one line at a time; every line must be
// `keyword arg...` with exactly the expected number of arguments.
class Parser {
 public:
  explicit Parser(std::string_view body) : rest_(body) {}

  bool line(std::string_view keyword, size_t arity, std::vector<std::string_view>* args) {
    ++lineNo_;
    const size_t nl = rest_.find('\n');
    if (nl == std::string_view::npos) return bad("missing '" + std::string(keyword) + "'");
    const std::string_view text = rest_.substr(0, nl);
    rest_.remove_prefix(nl + 1);
    args->clear();
    size_t pos = 0;
    while (pos <= text.size()) {
      const size_t sp = std::min(text.find(' ', pos), text.size());
      args->push_back(text.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (args->front() != keyword || args->size() != arity + 1) {
      return bad("expected '" + std::string(keyword) + "' with " + std::to_string(arity) +
                 " argument(s)");
    }
    args->erase(args->begin());
    return true;
  }

  bool bad(const std::string& message) {
    error_ = "line " + std::to_string(lineNo_) + ": " + message;
    return false;
  }

  bool atEnd() const { return rest_.empty(); }
  const std::string& error() const { return error_; }

 private:
  std::string_view rest_;
  size_t lineNo_ = 0;
  std::string error_;
};

bool quotedLine(Parser& p, std::string_view keyword, std::string* out) {
  std::vector<std::string_view> a;
  if (!p.line(keyword, 1, &a)) return false;
  return unquote(a[0], out) || p.bad("bad quoted string");
}

template <typename T>
bool numberLine(Parser& p, std::string_view keyword, T* out) {
  std::vector<std::string_view> a;
  if (!p.line(keyword, 1, &a)) return false;
  return parseNumber(a[0], out) || p.bad("bad number '" + std::string(a[0]) + "'");
}

bool parseOptions(Parser& p, MigrationState& s) {
  uint32_t version = 0;
  if (!numberLine(p, kMagic, &version)) return false;
  if (version != kVersion) return p.bad("unsupported version " + std::to_string(version));
  if (!numberLine(p, "epoch", &s.epoch)) return false;
  std::vector<std::string_view> a;
  if (!p.line("distribution", 1, &a)) return false;
  const auto distribution = distributionFromName(a[0]);
  if (!distribution) return p.bad("unknown distribution");
  s.options.distribution = *distribution;
  if (!p.line("hash", 1, &a)) return false;
  const auto hash = routing::hashKindFromName(a[0]);
  if (!hash) return p.bad("unknown hash");
  s.options.hash = *hash;
  return quotedLine(p, "hash_tag", &s.options.hashTag) &&
         numberLine(p, "vnodes_per_weight", &s.options.vnodesPerWeight) &&
         quotedLine(p, "from_digest", &s.fromDigest) && quotedLine(p, "to_digest", &s.toDigest);
}

bool parseShards(Parser& p, std::string_view keyword, std::vector<routing::ShardSpec>* out) {
  size_t count = 0;
  if (!numberLine(p, keyword, &count)) return false;
  std::vector<std::string_view> a;
  for (size_t i = 0; i < count; ++i) {
    routing::ShardSpec spec;
    if (!p.line("shard", 2, &a)) return false;
    if (!unquote(a[0], &spec.name) || !parseNumber(a[1], &spec.weight)) return p.bad("bad shard");
    out->push_back(std::move(spec));
  }
  return true;
}

bool parseTail(Parser& p, MigrationState& s) {
  size_t count = 0;
  std::vector<std::string_view> a;
  if (!numberLine(p, "addresses", &count)) return false;
  for (size_t i = 0; i < count; ++i) {
    std::pair<std::string, std::string> entry;
    if (!p.line("address", 2, &a)) return false;
    if (!unquote(a[0], &entry.first) || !unquote(a[1], &entry.second)) {
      return p.bad("bad address");
    }
    s.addresses.push_back(std::move(entry));
  }
  if (!numberLine(p, "cursors", &count)) return false;
  for (size_t i = 0; i < count; ++i) {
    SourceCursor c;
    if (!p.line("cursor", 2, &a)) return false;
    if (!parseNumber(a[0], &c.cursor) || !parseNumber(a[1], &c.pass) || c.pass == 0) {
      return p.bad("bad cursor");
    }
    s.cursors.push_back(c);
  }
  return p.atEnd() || p.bad("unexpected text after the cursors");
}

// Splits off and verifies the checksum line; `body` is what it covers.
bool verifyChecksum(std::string_view file, std::string_view* body, std::string* error) {
  if (file.empty() || file.back() != '\n') return fail(error, "truncated (no final newline)");
  const size_t start = file.rfind('\n', file.size() - 2);
  const size_t lineStart = start == std::string_view::npos ? 0 : start + 1;
  const std::string_view last = file.substr(lineStart, file.size() - 1 - lineStart);
  if (last.substr(0, kChecksumKeyword.size()) != kChecksumKeyword) {
    return fail(error, "truncated (no checksum line)");
  }
  *body = file.substr(0, lineStart);
  if (last.substr(kChecksumKeyword.size()) != hex64(routing::fnv1a64(*body))) {
    return fail(error, "checksum mismatch (file corrupt or edited by hand)");
  }
  return true;
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool readAll(int fd, std::string* out) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
}

// The rename is durable only once the directory entry itself is on disk.
void syncDirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

bool saveState(const std::string& path, const MigrationState& state, std::string* error) {
  if (!checkConsistent(state, error)) return false;
  std::string text = serialize(state);
  text += std::string(kChecksumKeyword) + hex64(routing::fnv1a64(text)) + "\n";
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(error, systemError("cannot create", tmp));
  if (!writeAll(fd, text) || ::fsync(fd) != 0) {
    const std::string message = systemError("cannot write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(error, message);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string message = systemError("cannot replace", path);
    ::unlink(tmp.c_str());
    return fail(error, message);
  }
  syncDirectoryOf(path);
  return true;
}

std::optional<MigrationState> loadState(const std::string& path, std::string* error) {
  if (error != nullptr) error->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) fail(error, systemError("cannot open", path));
    return std::nullopt;
  }
  std::string file;
  const bool read = readAll(fd, &file);
  ::close(fd);
  if (!read) {
    fail(error, systemError("cannot read", path));
    return std::nullopt;
  }
  std::string_view body;
  std::string problem;
  MigrationState state;
  if (verifyChecksum(file, &body, &problem)) {
    Parser p(body);
    if (!parseOptions(p, state) || !parseShards(p, "from_shards", &state.fromShards) ||
        !parseShards(p, "to_shards", &state.toShards) || !parseTail(p, state)) {
      problem = p.error();
    } else {
      checkConsistent(state, &problem);
    }
  }
  if (!problem.empty()) {
    fail(error, path + ": " + problem);
    return std::nullopt;
  }
  return state;
}

void removeState(const std::string& path) {
  ::unlink(path.c_str());
  ::unlink((path + ".tmp").c_str());
}

}  // namespace mig
