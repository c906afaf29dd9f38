// MD5 (RFC 1321), one-shot over a byte string.
// Owns: routing::md5, declared in routing/hash_fn.h. Called by the ketama continuum
// builder (md5 of "<name>-<i>") and by the "md5" key hash; keys are short, so a plain
// loop-per-round transform is fast enough and keeps this file free of dependencies.
#include <cstring>

#include "routing/hash_fn.h"

namespace routing {
namespace {

// floor(abs(sin(i + 1)) * 2^32), RFC 1321 section 3.4.
constexpr uint32_t kSine[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};

// Per-round rotation amounts; each round repeats its four shifts four times.
constexpr int kShift[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

constexpr uint32_t rotl(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

struct Md5State {
  uint32_t a = 0x67452301;
  uint32_t b = 0xefcdab89;
  uint32_t c = 0x98badcfe;
  uint32_t d = 0x10325476;
};

// Words are read byte by byte so the result does not depend on host endianness.
void transform(Md5State& st, const unsigned char* block) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) {
    const unsigned char* p = block + 4 * i;
    m[i] = uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  }
  uint32_t a = st.a, b = st.b, c = st.c, d = st.d;
  for (int i = 0; i < 64; ++i) {
    uint32_t f;
    int g;
    // clang-format off
    switch (i / 16) {
      case 0: f = (b & c) | (~b & d); g = i; break;
      case 1: f = (d & b) | (~d & c); g = (5 * i + 1) % 16; break;
      case 2: f = b ^ c ^ d; g = (3 * i + 5) % 16; break;
      default: f = c ^ (b | ~d); g = (7 * i) % 16; break;
    }
    // clang-format on
    const uint32_t sum = a + f + kSine[i] + m[g];
    a = d;
    d = c;
    c = b;
    b = b + rotl(sum, kShift[i / 16][i % 4]);
  }
  st.a += a;
  st.b += b;
  st.c += c;
  st.d += d;
}

void storeLe(uint32_t v, unsigned char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}

}  // namespace

void md5(std::string_view data, unsigned char out[16]) {
  Md5State st;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const size_t fullBlocks = data.size() / 64;
  for (size_t i = 0; i < fullBlocks; ++i) transform(st, bytes + 64 * i);

  // The tail, the 0x80 marker and the 64-bit bit length need one block, or two when
  // fewer than 9 bytes are left after the tail.
  unsigned char tail[128] = {};
  const size_t rest = data.size() % 64;
  if (rest != 0) std::memcpy(tail, bytes + 64 * fullBlocks, rest);
  tail[rest] = 0x80;
  const size_t tailLen = rest < 56 ? 64 : 128;
  const uint64_t bitLen = static_cast<uint64_t>(data.size()) * 8;
  for (int i = 0; i < 8; ++i) tail[tailLen - 8 + i] = static_cast<unsigned char>(bitLen >> (8 * i));
  transform(st, tail);
  if (tailLen == 128) transform(st, tail + 64);

  storeLe(st.a, out);
  storeLe(st.b, out + 4);
  storeLe(st.c, out + 8);
  storeLe(st.d, out + 12);
}

}  // namespace routing
