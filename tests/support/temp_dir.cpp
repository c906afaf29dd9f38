// TempDir and small file helpers; see temp_dir.h. Called by the other support classes
// and by tests that write config files.
#include "tests/support/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace testsupport {

namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/rp-it-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (std::getenv("RP_IT_KEEP_TMP") != nullptr) return;
  std::error_code ec;
  fs::remove_all(path_, ec);  // best effort: never throw from a destructor
}

std::string TempDir::file(const std::string& name) const { return path_ + "/" + name; }

std::string TempDir::subdir(const std::string& name) const {
  std::string dir = file(name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir + ": " + ec.message());
  return dir;
}

std::string TempDir::writeFile(const std::string& name, const std::string& text) const {
  std::string p = file(name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + p);
  return p;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tailFile(const std::string& path, size_t maxLines) {
  std::string text = readFile(path);
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  size_t lines = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++lines == maxLines) break;
    --pos;
  }
  return text.substr(pos);
}

}  // namespace testsupport
