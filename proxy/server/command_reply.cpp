// COMMAND's replies, built from cmd::allCommands(). Where the table lacks what Redis sends
// (ACL categories, tips, key specs, subcommands, docs) the field is an empty array, so
// every client parses the shape it expects; see appendCommandEntry and docs().
// Called by: runLocalCommand through commandReply().
#include "proxy/text.h"
#include "proxy/server/command_reply.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include "proxy/errors.h"
#include "proxy/resp/resp_writer.h"

namespace proxy {

namespace {
using text::ieq;

using ArgFn = std::function<std::string_view(size_t)>;

constexpr std::string_view kInvalidCommand = "ERR Invalid command specified";
constexpr std::string_view kNoKeys = "ERR The command has no key arguments";
constexpr std::string_view kBadArgCount = "ERR Invalid number of arguments specified for command";
constexpr std::string_view kBadArgs = "ERR Invalid arguments specified for command";

// Redis 7.0's addReplyCommandFlags order, which is not the bit order. may_replicate is
// absent because Redis hides it.
constexpr cmd::Flag kReplyFlagOrder[] = {
    cmd::Write,       cmd::ReadOnly,    cmd::Denyoom,         cmd::Module,
    cmd::Admin,       cmd::PubSub,      cmd::NoScript,        cmd::Blocking,
    cmd::Loading,     cmd::Stale,       cmd::SkipMonitor,     cmd::SkipSlowlog,
    cmd::Asking,      cmd::Fast,        cmd::NoAuth,          cmd::NoMandatoryKeys,
    cmd::NoAsyncLoading, cmd::NoMulti,  cmd::MovableKeys,     cmd::AllowBusy,
};

// The containers to which the table lends their keyed subcommands' key spec (so the router
// finds the key at index 2). Redis reports the containers themselves as keyless and
// resolves GETKEYS through the subcommand, so both need the subcommands' real shape.
struct Subcommand {
  std::string_view container;
  std::string_view name;
  int arity;
  bool keyed;  // key at index 2, else none
};

constexpr Subcommand kKeyedContainerSubcommands[] = {
    {"memory", "doctor", 2, false},      {"memory", "help", 2, false},
    {"memory", "malloc-stats", 2, false}, {"memory", "purge", 2, false},
    {"memory", "stats", 2, false},       {"memory", "usage", -3, true},
    {"object", "encoding", 3, true},     {"object", "freq", 3, true},
    {"object", "help", 2, false},        {"object", "idletime", 3, true},
    {"object", "refcount", 3, true},     {"xgroup", "create", -5, true},
    {"xgroup", "createconsumer", 5, true}, {"xgroup", "delconsumer", 5, true},
    {"xgroup", "destroy", 4, true},      {"xgroup", "help", 2, false},
    {"xgroup", "setid", -5, true},       {"xinfo", "consumers", 4, true},
    {"xinfo", "groups", 3, true},        {"xinfo", "help", 2, false},
    {"xinfo", "stream", -3, true},
};

// Shard-channel commands: the table's key range is their channel (routing hashes it like a
// key), but Redis marks that spec not_key, so GETKEYS reports no keys for them.
constexpr std::string_view kChannelCommands[] = {"spublish", "ssubscribe", "sunsubscribe"};

bool isChannelCommand(std::string_view name) {
  return std::find(std::begin(kChannelCommands), std::end(kChannelCommands), name) !=
         std::end(kChannelCommands);
}

// Redis 7.0.15's subcommands of the keyless containers (space-separated), so COMMAND LIST
// names them and GETKEYS refuses an unknown one as Redis does. The table has top-level rows
// only; these lists would belong in scripts/gen_command_table.py's output.
struct KeylessContainer {
  std::string_view container;
  std::string_view subcommands;
};

constexpr KeylessContainer kKeylessContainers[] = {
    {"acl", "cat deluser dryrun genpass getuser help list load log save setuser users whoami"},
    {"client", "caching getname getredir help id info kill list no-evict pause reply setname "
               "tracking trackinginfo unblock unpause"},
    {"cluster", "addslots addslotsrange bumpepoch count-failure-reports countkeysinslot "
                "delslots delslotsrange failover flushslots forget getkeysinslot help info "
                "keyslot links meet myid nodes replicas replicate reset saveconfig "
                "set-config-epoch setslot shards slaves slots"},
    {"command", "count docs getkeys getkeysandflags help info list"},
    {"config", "get help resetstat rewrite set"},
    {"function", "delete dump flush help kill list load restore stats"},
    {"latency", "doctor graph help histogram history latest reset"},
    {"module", "help list load loadex unload"},
    {"pubsub", "channels help numpat numsub shardchannels shardnumsub"},
    {"script", "debug exists flush help kill load"},
    {"slowlog", "get help len reset"},
};

bool isKeyedContainer(std::string_view name) {
  for (const auto& sub : kKeyedContainerSubcommands) {
    if (sub.container == name) return true;
  }
  return false;
}

const Subcommand* findSubcommand(std::string_view container, std::string_view name) {
  for (const auto& sub : kKeyedContainerSubcommands) {
    if (sub.container == container && ieq(sub.name, name)) return &sub;
  }
  return nullptr;
}

// Calls visit(name) for each subcommand of `container`, keyed or not; none for a plain
// command.
template <typename Visit>
void forEachSubcommand(std::string_view container, Visit visit) {
  for (const auto& sub : kKeyedContainerSubcommands) {
    if (sub.container == container) visit(sub.name);
  }
  for (const auto& keyless : kKeylessContainers) {
    if (keyless.container != container) continue;
    std::string_view rest = keyless.subcommands;
    while (!rest.empty()) {
      const size_t space = std::min(rest.find(' '), rest.size());
      visit(rest.substr(0, space));
      rest.remove_prefix(std::min(space + 1, rest.size()));
    }
  }
}

// False only for a container that has no subcommand called `name`.
bool knownSubcommand(std::string_view container, std::string_view name) {
  bool isContainer = false;
  bool found = false;
  forEachSubcommand(container, [&](std::string_view sub) {
    isContainer = true;
    found = found || ieq(sub, name);
  });
  return !isContainer || found;
}

// COMMAND's own subcommands with Redis's arity for each (the name counts as in Redis:
// `COMMAND COUNT` is 2 arguments).
struct CommandSub {
  std::string_view name;
  int arity;
};

constexpr CommandSub kCommandSubs[] = {
    {"count", 2}, {"docs", -2},  {"getkeys", -4}, {"getkeysandflags", -4},
    {"help", 2},  {"info", -2}, {"list", -2},
};

constexpr std::string_view kHelpLines[] = {
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
};

void appendFlags(const cmd::CommandSpec& spec, std::string& out) {
  size_t count = 0;
  for (cmd::Flag flag : kReplyFlagOrder) count += spec.has(flag) ? 1 : 0;
  resp::appendArrayHeader(out, count);
  for (cmd::Flag flag : kReplyFlagOrder) {
    if (spec.has(flag)) resp::appendSimple(out, cmd::flagName(flag));
  }
}

void appendAllEntries(std::string& out) {
  const auto all = cmd::allCommands();
  resp::appendArrayHeader(out, all.size());
  for (const auto& spec : all) appendCommandEntry(spec, out);
}

void info(const LocalArgs& a, std::string& out) {
  if (a.argc == 2) return appendAllEntries(out);
  resp::appendArrayHeader(out, a.argc - 2);
  for (size_t i = 2; i < a.argc; ++i) {
    const cmd::CommandSpec* spec = cmd::lookup(a.arg(i));
    if (spec == nullptr) {
      resp::appendNullBulk(out);
    } else {
      appendCommandEntry(*spec, out);
    }
  }
}

char lowerChar(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Matches one pattern token at p[i] (?, [set], [^set], [a-z], \x or a literal) against `c`,
// case-insensitively; `next` is set past the token.
bool tokenMatches(std::string_view p, size_t i, char c, size_t& next) {
  if (p[i] == '?') {
    next = i + 1;
    return true;
  }
  if (p[i] != '[') {
    if (p[i] == '\\' && i + 1 < p.size()) ++i;
    next = i + 1;
    return lowerChar(p[i]) == lowerChar(c);
  }
  ++i;
  const bool negate = i < p.size() && p[i] == '^';
  if (negate) ++i;
  bool match = false;
  for (; i < p.size() && p[i] != ']'; ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      match |= p[++i] == c;
    } else if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
      char lo = lowerChar(p[i]), hi = lowerChar(p[i + 2]);
      if (lo > hi) std::swap(lo, hi);
      match |= lowerChar(c) >= lo && lowerChar(c) <= hi;
      i += 2;
    } else {
      match |= lowerChar(p[i]) == lowerChar(c);
    }
  }
  next = i < p.size() ? i + 1 : i;
  return match != negate;
}

// Redis's stringmatchlen() glob, case-insensitive as COMMAND LIST FILTERBY PATTERN uses
// it. Backtracks only to the last '*', so a hostile pattern costs O(pattern * name), not
// the exponential time of the naive recursion.
bool globMatch(std::string_view p, std::string_view s) {
  constexpr size_t kNone = std::string_view::npos;
  size_t pi = 0, si = 0, starP = kNone, starS = 0;
  while (si < s.size()) {
    size_t next = 0;
    if (pi < p.size() && p[pi] == '*') {
      starP = ++pi;
      starS = si;
    } else if (pi < p.size() && tokenMatches(p, pi, s[si], next)) {
      pi = next;
      ++si;
    } else if (starP == kNone) {
      return false;
    } else {
      pi = starP;
      si = ++starS;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

// COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]: only the exact shape Redis
// accepts. Each container is followed by its "container|sub" names, as Redis lists them.
void list(const LocalArgs& a, std::string& out) {
  std::optional<std::string_view> pattern;
  if (a.argc != 2) {
    if (a.argc != 5 || !ieq(a.arg(2), "FILTERBY")) return resp::appendError(out, errors::kSyntax);
    const std::string_view type = a.arg(3);
    if (ieq(type, "MODULE")) return resp::appendArrayHeader(out, 0);  // no modules here
    if (ieq(type, "ACLCAT")) {
      // An empty list would claim the category is empty: refuse instead.
      return resp::appendError(out, errors::notSupported("command|list filterby aclcat"));
    }
    if (!ieq(type, "PATTERN")) return resp::appendError(out, errors::kSyntax);
    pattern = a.arg(4);
  }
  std::vector<std::string> names;
  const auto add = [&](std::string name) {
    if (!pattern || globMatch(*pattern, name)) names.push_back(std::move(name));
  };
  for (const auto& spec : cmd::allCommands()) {
    add(std::string(spec.name));
    forEachSubcommand(spec.name, [&](std::string_view sub) {
      add(std::string(spec.name) + "|" + std::string(sub));
    });
  }
  resp::appendArrayHeader(out, names.size());
  for (const std::string& name : names) resp::appendBulk(out, name);
}

// Redis's legacy (first, last, step) range without the proxy's MSET pairing check: GETKEYS
// reports `MSET a 1 b` as keys a and b, although routing refuses the instance.
void legacyRange(const cmd::CommandSpec& spec, size_t argc, std::vector<size_t>& keys) {
  keys.clear();
  const long long last = spec.lastKey < 0 ? static_cast<long long>(argc) + spec.lastKey
                                          : static_cast<long long>(spec.lastKey);
  const long long step = spec.keyStep > 0 ? spec.keyStep : 1;
  for (long long i = spec.firstKey; i > 0 && i <= last && i < static_cast<long long>(argc);
       i += step) {
    keys.push_back(static_cast<size_t>(i));
  }
}

// The keys of one command instance (argv through `arg`), with Redis 7.0's checks in
// getKeysSubcommandImpl's order. Returns the error text, or empty with `keys` filled.
std::string_view instanceKeys(const cmd::CommandSpec& spec, size_t argc, const ArgFn& arg,
                              std::vector<size_t>& keys) {
  keys.clear();
  int arity = spec.arity;
  bool hasKeys = (spec.firstKey > 0 || spec.numKeysIndex > 0 || spec.has(cmd::MovableKeys)) &&
                 !isChannelCommand(spec.name);
  const std::string_view subName = argc > 1 ? arg(1) : std::string_view();
  if (!knownSubcommand(spec.name, subName)) return kInvalidCommand;
  const bool container = isKeyedContainer(spec.name);
  if (container) {
    const Subcommand* sub = findSubcommand(spec.name, subName);
    if (sub == nullptr) return kInvalidCommand;
    arity = sub->arity;
    hasKeys = sub->keyed;
  }
  if (!hasKeys) return kNoKeys;
  const auto n = static_cast<long long>(argc);
  if ((arity > 0 && arity != n) || n < -arity) return kBadArgCount;
  if (container) {
    keys.push_back(2);
    return {};
  }
  // 7.0.15's PFMERGE key specs want a source key although the arity allows none.
  if (spec.name == "pfmerge" && argc < 3) return kBadArgs;
  bool ok = cmd::keyIndices(spec, argc, arg, keys);
  if (!ok && spec.numKeysIndex == 0 && !spec.has(cmd::MovableKeys)) {
    legacyRange(spec, argc, keys);
    ok = true;
  }
  if (ok && !keys.empty()) return {};
  keys.clear();
  return spec.has(cmd::NoMandatoryKeys) ? std::string_view() : kBadArgs;
}

// COMMAND GETKEYS cmd args...: answered from the table, as the router sees the instance.
void getKeys(const LocalArgs& a, std::string& out) {
  const cmd::CommandSpec* spec = cmd::lookup(a.arg(2));
  if (spec == nullptr) return resp::appendError(out, kInvalidCommand);
  const ArgFn arg = [&a](size_t i) { return a.arg(i + 2); };
  std::vector<size_t> keys;
  const std::string_view error = instanceKeys(*spec, a.argc - 2, arg, keys);
  if (!error.empty()) return resp::appendError(out, error);
  resp::appendArrayHeader(out, keys.size());
  for (size_t index : keys) resp::appendBulk(out, arg(index));
}

void help(std::string& out) {
  resp::appendArrayHeader(out, std::size(kHelpLines));
  for (std::string_view line : kHelpLines) resp::appendSimple(out, line);
}

// COMMAND DOCS is always an empty array: the table carries no documentation, and Redis
// itself skips names it has no docs for, so clients (redis-cli 7.2+ builds its help from
// this at start) see a consistent "nothing documented" rather than half-filled maps.
void docs(std::string& out) { resp::appendArrayHeader(out, 0); }

}  // namespace

void appendCommandEntry(const cmd::CommandSpec& spec, std::string& out) {
  resp::appendArrayHeader(out, 10);
  resp::appendBulk(out, spec.name);
  resp::appendInteger(out, spec.arity);
  appendFlags(spec, out);
  const bool keyless = isKeyedContainer(spec.name);
  resp::appendInteger(out, keyless ? 0 : spec.firstKey);
  resp::appendInteger(out, keyless ? 0 : spec.lastKey);
  resp::appendInteger(out, keyless ? 0 : spec.keyStep);
  // ACL categories, tips, key specs, subcommands: not in the table, so empty arrays.
  // Clients route with the legacy fields above; these only feed ACL tooling and docs.
  for (int i = 0; i < 4; ++i) resp::appendArrayHeader(out, 0);
}

void commandReply(const LocalArgs& a, std::string& out) {
  if (a.argc == 1) return appendAllEntries(out);
  const std::string_view sub = a.arg(1);
  const CommandSub* known = nullptr;
  for (const auto& candidate : kCommandSubs) {
    if (ieq(candidate.name, sub)) known = &candidate;
  }
  if (known == nullptr) return resp::appendError(out, errors::unknownSubcommand(sub, "COMMAND"));
  const auto n = static_cast<long long>(a.argc);
  if ((known->arity > 0 && known->arity != n) || n < -known->arity) {
    return resp::appendError(out, errors::wrongArity("command|" + std::string(known->name)));
  }
  const std::string_view name = known->name;
  if (name == "count") return resp::appendInteger(out, static_cast<int64_t>(cmd::allCommands().size()));
  if (name == "info") return info(a, out);
  if (name == "list") return list(a, out);
  if (name == "getkeys") return getKeys(a, out);
  if (name == "docs") return docs(out);
  if (name == "help") return help(out);
  // GETKEYSANDFLAGS needs the key specs' access flags, which the table does not carry.
  resp::appendError(out, errors::notSupported("command|getkeysandflags"));
}

}  // namespace proxy
