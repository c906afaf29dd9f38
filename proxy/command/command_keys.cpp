// Key extraction: which arguments of a command instance are keys, so the router can hash
// them. Owns keyIndices() and the option parsers for movable-keys commands whose keys no
// fixed position or numkeys argument describes.
// Called by: the router for every keyed request, and the tests (which diff it against
// Redis's own COMMAND GETKEYS).
// The parsers mirror Redis 7.0's getkeys procedures (db.c) rather than its keyword key
// specs, because a naive keyword search misroutes `XREADGROUP GROUP streams ...` or
// `SORT k BY store`; routing must agree with what the command will actually touch.
#include <algorithm>
#include <optional>

#include "proxy/command/command_table.h"

namespace cmd {
namespace {

using ArgFn = std::function<std::string_view(size_t)>;

// `lowerWord` is a lowercase literal; clients may send options in any case.
bool isWord(std::string_view arg, std::string_view lowerWord) {
  if (arg.size() != lowerWord.size()) return false;
  for (size_t i = 0; i < arg.size(); ++i) {
    char c = arg[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lowerWord[i]) return false;
  }
  return true;
}

// A key count: plain decimal digits only. Signs are refused because a negative count is
// always an error in Redis, and the cap keeps arithmetic on argc far from overflow.
std::optional<size_t> parseCount(std::string_view text) {
  constexpr size_t kMaxDigits = 9;
  if (text.empty() || text.size() > kMaxDigits) return std::nullopt;
  size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  return value;
}

// Redis's legacy (first, last, step) range, keeping only indices below `limit`. Indices past
// argc are dropped rather than refused: container commands such as `object help` share
// the top-level spec with their keyed subcommands yet name no key themselves.
bool legacyKeys(const CommandSpec& spec, size_t argc, size_t limit, std::vector<size_t>& out) {
  if (spec.firstKey <= 0) return true;
  const auto first = static_cast<long long>(spec.firstKey);
  const long long last = spec.lastKey < 0 ? static_cast<long long>(argc) + spec.lastKey
                                          : static_cast<long long>(spec.lastKey);
  const long long step = std::max<long long>(1, spec.keyStep);
  // MSET-style key/value runs: a trailing key without its value would make a per-shard
  // split send a malformed sub-command, so the whole instance is refused instead.
  if (spec.lastKey < 0 && step > 1 && last >= first && (last - first + 1) % step != 0) {
    return false;
  }
  const long long end = std::min<long long>(last, static_cast<long long>(limit) - 1);
  for (long long i = first; i <= end && i < static_cast<long long>(argc); i += step) {
    out.push_back(static_cast<size_t>(i));
  }
  return true;
}

bool numKeysKeys(const CommandSpec& spec, size_t argc, const ArgFn& arg,
                 std::vector<size_t>& out) {
  const auto countIndex = static_cast<size_t>(spec.numKeysIndex);
  // zunionstore & co. keep their destination in the legacy range, before the count.
  if (!legacyKeys(spec, argc, countIndex, out)) return false;
  if (countIndex >= argc) return false;
  const std::optional<size_t> count = parseCount(arg(countIndex));
  if (!count) return false;
  if (*count == 0 && !spec.has(NoMandatoryKeys)) return false;
  if (*count > argc - countIndex - 1) return false;
  for (size_t i = 1; i <= *count; ++i) out.push_back(countIndex + i);
  return true;
}

// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dst]
// BY/GET patterns are not keys we can route; the last STORE wins, as in sortCommand.
bool sortKeys(const CommandSpec&, size_t argc, const ArgFn& arg, std::vector<size_t>& out) {
  if (argc > 1) out.push_back(1);
  std::optional<size_t> store;
  for (size_t i = 2; i < argc; ++i) {
    const std::string_view word = arg(i);
    if (isWord(word, "limit")) {
      i += 2;
    } else if (isWord(word, "get") || isWord(word, "by")) {
      i += 1;
    } else if (isWord(word, "store") && i + 1 < argc) {
      store = ++i;
    }
  }
  if (store) out.push_back(*store);
  return true;
}

// GEORADIUS[BYMEMBER] ... [STORE key] [STOREDIST key]: the later option wins, as in
// georadiusGeneric. Scanning from 5 matches Redis for both variants.
bool georadiusKeys(const CommandSpec&, size_t argc, const ArgFn& arg,
                   std::vector<size_t>& out) {
  if (argc > 1) out.push_back(1);
  std::optional<size_t> store;
  for (size_t i = 5; i < argc; ++i) {
    const std::string_view word = arg(i);
    if ((isWord(word, "store") || isWord(word, "storedist")) && i + 1 < argc) store = ++i;
  }
  if (store) out.push_back(*store);
  return true;
}

// XREAD [COUNT n] [BLOCK ms] STREAMS k1..kn id1..idn, and XREADGROUP GROUP g c [...] STREAMS:
// options are skipped with their arguments so a group, consumer or key named "streams"
// does not end the search early.
bool streamsKeys(const CommandSpec&, size_t argc, const ArgFn& arg,
                 std::vector<size_t>& out) {
  std::optional<size_t> streams;
  for (size_t i = 1; i < argc && !streams; ++i) {
    const std::string_view word = arg(i);
    if (isWord(word, "count") || isWord(word, "block")) {
      i += 1;
    } else if (isWord(word, "group")) {
      i += 2;
    } else if (isWord(word, "noack")) {
      continue;
    } else if (isWord(word, "streams")) {
      streams = i;
    } else {
      return false;
    }
  }
  if (!streams) return false;
  const size_t tail = argc - *streams - 1;
  if (tail == 0 || tail % 2 != 0) return false;
  for (size_t i = 1; i <= tail / 2; ++i) out.push_back(*streams + i);
  return true;
}

// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw] [KEYS k...]
bool migrateKeys(const CommandSpec&, size_t argc, const ArgFn& arg, std::vector<size_t>& out) {
  size_t first = 3;
  size_t count = 1;
  for (size_t i = 6; i < argc; ++i) {
    const std::string_view word = arg(i);
    if (isWord(word, "auth2")) {
      i += 2;
    } else if (isWord(word, "auth")) {
      i += 1;
    } else if (isWord(word, "keys")) {
      if (!arg(3).empty()) return false;  // Redis refuses a key in both places
      first = i + 1;
      count = argc - first;
      break;
    }
  }
  for (size_t i = 0; i < count && first + i < argc; ++i) out.push_back(first + i);
  return true;
}

using Parser = bool (*)(const CommandSpec&, size_t, const ArgFn&, std::vector<size_t>&);

struct MovableParser {
  std::string_view command;
  Parser parse;
};

// Keep in sync with PARSED_MOVABLE in scripts/gen_command_table.py. sort_ro is absent on
// purpose: it has no STORE, and its BY/GET keys are not routable.
constexpr MovableParser kMovableParsers[] = {
    {"georadius", georadiusKeys}, {"georadiusbymember", georadiusKeys},
    {"migrate", migrateKeys},     {"sort", sortKeys},
    {"xread", streamsKeys},       {"xreadgroup", streamsKeys},
};

}  // namespace

bool keyIndices(const CommandSpec& spec, size_t argc, const ArgFn& arg,
                std::vector<size_t>& out) {
  out.clear();
  if (spec.numKeysIndex > 0) return numKeysKeys(spec, argc, arg, out);
  if (spec.has(MovableKeys)) {
    for (const auto& parser : kMovableParsers) {
      if (parser.command == spec.name) return parser.parse(spec, argc, arg, out);
    }
  }
  return legacyKeys(spec, argc, argc, out);
}

}  // namespace cmd
