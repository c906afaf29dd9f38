// TempDir: a private scratch directory for one test (configs, logs, redis --dir).
// Owns: the directory made by mkdtemp and everything under it (removed recursively on
// destruction unless RP_IT_KEEP_TMP is set in the environment, for post-mortems).
// Called by: every integration test fixture; RedisServer, Proxy and Nutcracker write
// their files under it.
#pragma once

#include <string>

namespace testsupport {

class TempDir {
 public:
  // Creates $TMPDIR/rp-it-XXXXXX (or /tmp/...). Throws std::runtime_error on failure.
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string file(const std::string& name) const;
  // Creates (if missing) and returns the sub-directory path() + "/" + name.
  std::string subdir(const std::string& name) const;
  // Writes `text` to file(name) and returns that path.
  std::string writeFile(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

// Whole contents of a file; "" when it cannot be read.
std::string readFile(const std::string& path);
// The last `maxLines` lines of a file (for diagnostics).
std::string tailFile(const std::string& path, size_t maxLines);

}  // namespace testsupport
