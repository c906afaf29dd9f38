// The command table: every Redis 7.0 command with Redis's arity, legacy key spec and flags,
// plus the routing strategy ringproxy applies to it.
// Owns: the static table (data generated into command_table_data.inc by
// scripts/gen_command_table.py), case-insensitive lookup, arity checks and key extraction.
// Called by: the session dispatcher (lookup + arityOk + strategy on every request), the
// router (keyIndices to find what to hash), `COMMAND`/`INFO` replies, and tests.
// Pure and allocation-free except for the caller-owned output vector of keyIndices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace cmd {

// Redis 7.0 COMMAND flags. The first fourteen bits are fixed by the proxy's public contract;
// the rest cover every other flag 7.0 reports so the table mirrors Redis exactly.
enum Flag : uint32_t {
  Write = 1,
  ReadOnly = 2,
  Denyoom = 4,
  Admin = 8,
  PubSub = 16,
  NoScript = 32,
  Blocking = 64,
  Loading = 128,
  Stale = 256,
  SkipMonitor = 512,
  Fast = 1024,
  NoAuth = 2048,
  MayReplicate = 4096,  // Redis 7.0 hides it from COMMAND, so no entry carries it
  MovableKeys = 8192,
  SkipSlowlog = 1u << 14,
  Asking = 1u << 15,
  NoMandatoryKeys = 1u << 16,  // eval/fcall with numkeys 0 is legal
  NoAsyncLoading = 1u << 17,
  NoMulti = 1u << 18,
  AllowBusy = 1u << 19,
  Module = 1u << 20,
};

enum class Strategy : uint8_t {
  Local,        // answered by the proxy itself (ping, hello, select, client, config get...)
  SingleKey,    // one key: route by args[firstKey], forward the frame verbatim
  Fanout,       // mget mset del unlink exists touch: split per shard, merge replies
  CoLocated,    // several keys in one atomic op: all must map to one shard
  NumKeys,      // keys counted by the argument at numKeysIndex (eval, zunion, lmpop...)
  Keyspace,     // scan, keys, dbsize, flushdb...: the whole keyspace across shards
  Broadcast,    // script/function management: sent to every shard
  Transaction,  // multi exec discard watch unwatch
  PubSub,       // (s|p)subscribe, publish, pubsub...
  Blocking,     // holds a backend connection: blpop, xread, wait...
  Unsupported,  // cluster/replication/admin plumbing a proxy cannot honour
};

struct CommandSpec {
  std::string_view name;  // lowercase
  int16_t arity;          // Redis's: N exact, -N at least N (the name counts)
  int16_t firstKey, lastKey, keyStep;  // Redis's legacy key spec; lastKey < 0 counts from the end
  int16_t numKeysIndex;   // argument holding the key count (eval: 2, zunion: 1...); 0 if none
  uint32_t flags;         // Flag bits
  Strategy strategy;

  bool has(Flag flag) const { return (flags & flag) != 0; }
};

// Case-insensitive; nullptr for unknown names. No allocation.
const CommandSpec* lookup(std::string_view name);

// Every entry, sorted by name.
std::span<const CommandSpec> allCommands();

std::string_view strategyName(Strategy strategy);

// Redis's spelling of a single flag ("movablekeys"), and back. nullopt/empty when unknown.
std::string_view flagName(Flag flag);
std::optional<Flag> flagFromName(std::string_view name);

// argc counts the command name, as Redis's arity does.
bool arityOk(const CommandSpec& spec, size_t argc);

// Fills `out` with the argument indices that are keys for this command instance, in
// argument order. Handles the legacy range (negative lastKey, keyStep), numkeys counts,
// and the option-parsed movable commands (sort/georadius STORE, xread STREAMS, migrate
// KEYS). Returns false when the instance is malformed in a way that hides its keys: bad or
// out-of-range numkeys, an odd STREAMS tail, a key without its value in mset. A true
// return with an empty `out` means the command names no key (`object help`, `eval s 0`).
bool keyIndices(const CommandSpec& spec, size_t argc,
                const std::function<std::string_view(size_t)>& arg, std::vector<size_t>& out);

}  // namespace cmd
