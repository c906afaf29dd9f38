// Helpers shared by the libFuzzer targets in tests/fuzz: a failing-check macro that names
// the broken invariant, a deterministic per-input hash (so the "random" split points and
// limits a target picks are reproducible from the input file alone), and exact-size heap
// copies of byte ranges.
// Called by: tests/fuzz/fuzz_*.cpp only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

// abort() rather than an exception: libFuzzer treats the signal as a crash, saves the input
// as crash-<sha1>, and prints the stack, which is exactly the report we want.
#define FUZZ_CHECK(cond, ...)                                                    \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  ", __FILE__,      \
                   __LINE__, #cond);                                             \
      std::fprintf(stderr, __VA_ARGS__);                                         \
      std::fputc('\n', stderr);                                                  \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

namespace fuzz {

// FNV-1a: the split points and limit profile come from the input's own bytes instead of a
// prefix byte, so corpus files stay plain protocol bytes that redis-cli could have sent.
inline uint64_t hashBytes(const uint8_t* data, size_t size) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 1099511628211ull;
  }
  return h;
}

// splitmix64 step: independent-looking values from the one input hash.
inline uint64_t nextRandom(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// An exact-size heap copy of bytes. A socket reader moves and regrows its buffer between
// reads, so each resumed parse gets new storage: ASan then flags both a read one byte past
// the end and any pointer kept into the previous buffer (heap-use-after-free).
class HeapBytes {
 public:
  HeapBytes(const uint8_t* data, size_t size)
      : bytes_(size == 0 ? nullptr : new char[size]), size_(size) {
    if (size != 0) std::memcpy(bytes_.get(), data, size);
  }
  std::string_view view() const { return {bytes_.get(), size_}; }
  const char* data() const { return bytes_.get(); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<char[]> bytes_;
  size_t size_;
};

// Compared as integers: relational operators on pointers into different objects are
// unspecified, and "points somewhere else entirely" is precisely the case being checked.
inline bool within(std::string_view inner, const char* begin, const char* end) {
  const auto p = reinterpret_cast<uintptr_t>(inner.data());
  return p >= reinterpret_cast<uintptr_t>(begin) &&
         p + inner.size() <= reinterpret_cast<uintptr_t>(end);
}

}  // namespace fuzz
