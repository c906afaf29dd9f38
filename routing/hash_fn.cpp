// twemproxy's (nutcracker 0.5.0, src/hashkit/) key hashes, re-implemented to return the
// same 32-bit values, plus the hash-name table and our own 64-bit FNV-1a.
// Owns: everything declared in routing/hash_fn.h except md5 (routing/md5.cpp).
// Called by: HashRing (key placement, vnode names), config validation (names), tests.
//
// twemproxy hashes take `const char*`, and on the x86-64 builds everyone runs `char` is
// signed, so several of its hashes widen bytes >= 0x80 to 0xffffff80.. before mixing
// them in. Every such spot is reproduced with an explicit signed-char widening so the
// result does not depend on this compiler's char signedness.
#include "routing/hash_fn.h"

#include <array>

namespace routing {
namespace {

constexpr uint32_t widenSigned32(char c) {
  return static_cast<uint32_t>(static_cast<int32_t>(static_cast<signed char>(c)));
}
constexpr uint64_t widenSigned64(char c) {
  return static_cast<uint64_t>(static_cast<int64_t>(static_cast<signed char>(c)));
}
constexpr uint32_t byteAt(std::string_view key, size_t i) {
  return static_cast<unsigned char>(key[i]);
}
// Little-endian load, as twemproxy's unaligned `*(uint32_t*)` reads do on x86.
constexpr uint32_t le32(std::string_view key, size_t i) {
  return byteAt(key, i) | (byteAt(key, i + 1) << 8) | (byteAt(key, i + 2) << 16) |
         (byteAt(key, i + 3) << 24);
}
constexpr uint32_t le16(std::string_view key, size_t i) {
  return byteAt(key, i) | (byteAt(key, i + 1) << 8);
}

// CRC tables are generated rather than transcribed; the static_asserts pin them to
// entries of twemproxy's literal tables.
// crc16: the non-reflected CCITT/XMODEM table (polynomial 0x1021).
constexpr std::array<uint16_t, 256> crc16XmodemTable() {
  std::array<uint16_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t crc = n << 8;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
    table[n] = static_cast<uint16_t>(crc);
  }
  return table;
}
// crc32/crc32a: the reflected IEEE table (polynomial 0xEDB88320).
constexpr std::array<uint32_t, 256> crc32IeeeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t crc = n;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    table[n] = crc;
  }
  return table;
}
constexpr auto kCrc16Table = crc16XmodemTable();
constexpr auto kCrc32Table = crc32IeeeTable();
static_assert(kCrc16Table[1] == 0x1021 && kCrc16Table[128] == 0x9188 && kCrc16Table[255] == 0x1ef0);
static_assert(kCrc32Table[1] == 0x77073096u && kCrc32Table[255] == 0x2d02ef8du);

constexpr uint32_t kFnv32Init = 2166136261u;
constexpr uint32_t kFnv32Prime = 16777619u;
constexpr uint64_t kFnv64Init = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnv64Prime = 0x100000001b3ULL;

uint32_t hashFnv1_64(std::string_view key) {
  uint64_t hash = kFnv64Init;
  for (char c : key) {
    hash *= kFnv64Prime;
    hash ^= widenSigned64(c);
  }
  return static_cast<uint32_t>(hash);
}

// twemproxy's "fnv1a_64" keeps only 32 bits of state: both the 64-bit offset basis and
// the 64-bit prime are truncated before use.
uint32_t hashFnv1a_64(std::string_view key) {
  uint32_t hash = static_cast<uint32_t>(kFnv64Init);
  for (char c : key) {
    hash ^= widenSigned32(c);
    hash *= static_cast<uint32_t>(kFnv64Prime);
  }
  return hash;
}

uint32_t hashFnv1_32(std::string_view key) {
  uint32_t hash = kFnv32Init;
  for (char c : key) {
    hash *= kFnv32Prime;
    hash ^= widenSigned32(c);
  }
  return hash;
}

uint32_t hashFnv1a_32(std::string_view key) {
  uint32_t hash = kFnv32Init;
  for (char c : key) {
    hash ^= widenSigned32(c);
    hash *= kFnv32Prime;
  }
  return hash;
}

uint32_t hashMd5(std::string_view key) {
  unsigned char digest[16];
  md5(key, digest);
  return uint32_t{digest[0]} | (uint32_t{digest[1]} << 8) | (uint32_t{digest[2]} << 16) |
         (uint32_t{digest[3]} << 24);
}

// nutcracker 0.5.0 keeps the CRC in a uint32_t and never masks it to 16 bits: the low 16
// bits are CRC-16/XMODEM, the bits above are shifted-out history, and ketama sees all 32.
// (Later twemproxy versions switched to a reflected CRC-16/ARC table; 0.5.0 is our target.)
uint32_t hashCrc16(std::string_view key) {
  uint32_t crc = 0;
  for (size_t i = 0; i < key.size(); ++i) {
    crc = (crc << 8) ^ kCrc16Table[((crc >> 8) ^ byteAt(key, i)) & 0xff];
  }
  return crc;
}

uint32_t crc32Raw(std::string_view key) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < key.size(); ++i) {
    crc = (crc >> 8) ^ kCrc32Table[(crc ^ byteAt(key, i)) & 0xff];
  }
  return ~crc;
}

// libmemcached-compatible: 15 bits taken from the top half of the real CRC-32.
uint32_t hashCrc32(std::string_view key) { return (crc32Raw(key) >> 16) & 0x7fff; }

// MurmurHash2 with twemproxy's length-derived seed.
uint32_t hashMurmur(std::string_view key) {
  constexpr uint32_t m = 0x5bd1e995;
  const auto length = static_cast<uint32_t>(key.size());
  uint32_t h = (0xdeadbeefu * length) ^ length;
  size_t i = 0;
  for (; key.size() - i >= 4; i += 4) {
    uint32_t k = le32(key, i);
    k *= m;
    k ^= k >> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t rest = key.size() - i;
  if (rest == 3) h ^= byteAt(key, i + 2) << 16;
  if (rest >= 2) h ^= byteAt(key, i + 1) << 8;
  if (rest >= 1) {
    h ^= byteAt(key, i);
    h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

uint32_t hashOneAtATime(std::string_view key) {
  uint32_t value = 0;
  for (char c : key) {
    value += widenSigned32(c);
    value += value << 10;
    value ^= value >> 6;
  }
  value += value << 3;
  value ^= value >> 11;
  value += value << 15;
  return value;
}

// Paul Hsieh's SuperFastHash. Only the 3-byte tail reads its last byte through a signed
// char in twemproxy; the 1-byte tail casts to unsigned char first.
uint32_t hashHsieh(std::string_view key) {
  if (key.empty()) return 0;
  uint32_t hash = 0;
  size_t i = 0;
  for (size_t blocks = key.size() >> 2; blocks > 0; --blocks, i += 4) {
    hash += le16(key, i);
    const uint32_t tmp = (le16(key, i + 2) << 11) ^ hash;
    hash = (hash << 16) ^ tmp;
    hash += hash >> 11;
  }
  switch (key.size() & 3) {
    case 3:
      hash += le16(key, i);
      hash ^= hash << 16;
      hash ^= widenSigned32(key[i + 2]) << 18;
      hash += hash >> 11;
      break;
    case 2:
      hash += le16(key, i);
      hash ^= hash << 11;
      hash += hash >> 17;
      break;
    case 1:
      hash += byteAt(key, i);
      hash ^= hash << 10;
      hash += hash >> 1;
      break;
    default:
      break;
  }
  hash ^= hash << 3;
  hash += hash >> 5;
  hash ^= hash << 4;
  hash += hash >> 17;
  hash ^= hash << 25;
  hash += hash >> 6;
  return hash;
}

constexpr uint32_t rot(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

// lookup3's own three-column layout is the readable one.
// clang-format off
void jenkinsMix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c; a ^= rot(c, 4);  c += b;
  b -= a; b ^= rot(a, 6);  a += c;
  c -= b; c ^= rot(b, 8);  b += a;
  a -= c; a ^= rot(c, 16); c += b;
  b -= a; b ^= rot(a, 19); a += c;
  c -= b; c ^= rot(b, 4);  b += a;
}

void jenkinsFinal(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b; c -= rot(b, 14);
  a ^= c; a -= rot(c, 11);
  b ^= a; b -= rot(a, 25);
  c ^= b; c -= rot(b, 16);
  a ^= c; a -= rot(c, 4);
  b ^= a; b -= rot(a, 14);
  c ^= b; c -= rot(b, 24);
}
// clang-format on

// Up to 4 little-endian bytes from `key[i..]`, zero-filled past the end: the value each of
// twemproxy's three read paths (32-bit, 16-bit, byte) adds for a partial word.
uint32_t lePartial(std::string_view key, size_t i) {
  uint32_t v = 0;
  for (size_t j = 0; j < 4 && i + j < key.size(); ++j) v |= byteAt(key, i + j) << (8 * j);
  return v;
}

// Bob Jenkins' lookup3 hashlittle() with initval 13.
uint32_t hashJenkins(std::string_view key) {
  uint32_t a = 0xdeadbeefu + static_cast<uint32_t>(key.size()) + 13;
  uint32_t b = a;
  uint32_t c = a;
  size_t i = 0;
  size_t length = key.size();
  for (; length > 12; length -= 12, i += 12) {
    a += le32(key, i);
    b += le32(key, i + 4);
    c += le32(key, i + 8);
    jenkinsMix(a, b, c);
  }
  if (length == 0) return c;
  a += lePartial(key, i);
  b += lePartial(key, i + 4);
  c += lePartial(key, i + 8);
  jenkinsFinal(a, b, c);
  return c;
}

struct NamedKind {
  HashKind kind;
  std::string_view name;
};

constexpr NamedKind kHashNames[] = {
    {HashKind::OneAtATime, "one_at_a_time"},
    {HashKind::Md5, "md5"},
    {HashKind::Crc16, "crc16"},
    {HashKind::Crc32, "crc32"},
    {HashKind::Crc32a, "crc32a"},
    {HashKind::Fnv1_64, "fnv1_64"},
    {HashKind::Fnv1a64, "fnv1a_64"},
    {HashKind::Fnv1_32, "fnv1_32"},
    {HashKind::Fnv1a32, "fnv1a_32"},
    {HashKind::Hsieh, "hsieh"},
    {HashKind::Murmur, "murmur"},
    {HashKind::Jenkins, "jenkins"},
};

}  // namespace

std::optional<HashKind> hashKindFromName(std::string_view name) {
  for (const auto& entry : kHashNames) {
    if (entry.name == name) return entry.kind;
  }
  return std::nullopt;
}

std::string_view hashKindName(HashKind kind) {
  for (const auto& entry : kHashNames) {
    if (entry.kind == kind) return entry.name;
  }
  return "unknown";
}

std::string_view hashKindNames() {
  // Same order as twemproxy's README, so error messages read like its docs.
  return "one_at_a_time, md5, crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, "
         "hsieh, murmur, jenkins";
}

uint32_t twemproxyHash(HashKind kind, std::string_view key) {
  // clang-format off
  switch (kind) {
    case HashKind::Fnv1a64: return hashFnv1a_64(key);
    case HashKind::Fnv1_64: return hashFnv1_64(key);
    case HashKind::Fnv1a32: return hashFnv1a_32(key);
    case HashKind::Fnv1_32: return hashFnv1_32(key);
    case HashKind::Md5: return hashMd5(key);
    case HashKind::Crc16: return hashCrc16(key);
    case HashKind::Crc32: return hashCrc32(key);
    case HashKind::Crc32a: return crc32Raw(key);
    case HashKind::Murmur: return hashMurmur(key);
    case HashKind::OneAtATime: return hashOneAtATime(key);
    case HashKind::Hsieh: return hashHsieh(key);
    case HashKind::Jenkins: return hashJenkins(key);
  }
  // clang-format on
  return 0;
}

uint64_t fnv1a64(std::string_view data) {
  uint64_t hash = kFnv64Init;
  for (size_t i = 0; i < data.size(); ++i) {
    hash ^= byteAt(data, i);
    hash *= kFnv64Prime;
  }
  return hash;
}

}  // namespace routing
