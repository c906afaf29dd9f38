// Key hash functions, by the names twemproxy (nutcracker) uses in its `hash:` setting.
// Owns: the 32-bit twemproxy-identical hashes (used by the ketama ring and to place keys
// exactly where nutcracker does) and a 64-bit mixer for our own vnode ring.
// Called by: HashRing (routing/hash_ring.h), config validation (names), tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace routing {

enum class HashKind {
  Fnv1a64,     // "fnv1a_64": twemproxy's truncated-to-32-bit variant
  Fnv1_64,     // "fnv1_64"
  Fnv1a32,     // "fnv1a_32"
  Fnv1_32,     // "fnv1_32"
  Md5,         // "md5"
  Crc16,       // "crc16"
  Crc32,       // "crc32": twemproxy's 15-bit variant
  Crc32a,      // "crc32a": standard CRC-32
  Murmur,      // "murmur": MurmurHash2, seed 0xdeadbeef * len
  OneAtATime,  // "one_at_a_time"
  Hsieh,       // "hsieh"
  Jenkins,     // "jenkins"
};

// Parses a twemproxy hash name ("fnv1a_64", "murmur", ...). nullopt when unknown.
std::optional<HashKind> hashKindFromName(std::string_view name);
std::string_view hashKindName(HashKind kind);
// Comma-separated list of every accepted name, for error messages.
std::string_view hashKindNames();

// Exactly the value twemproxy's hash_<name>() returns for these bytes (including its
// sign-extension of bytes >= 0x80 where twemproxy has it).
uint32_t twemproxyHash(HashKind kind, std::string_view key);

// MD5 digest (RFC 1321) of `data` into `out`. Used by ketama and the md5 hash.
void md5(std::string_view data, unsigned char out[16]);

// A strong 64-bit finalizer (splitmix64), to spread 32-bit hashes over the 64-bit ring.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Real 64-bit FNV-1a (not twemproxy's truncated one); used for vnode point names.
uint64_t fnv1a64(std::string_view data);

}  // namespace routing
