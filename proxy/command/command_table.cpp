// The command table's storage and lookup: the generated rows from command_table_data.inc
// as a constexpr array, plus name lookup, arity checks and flag/strategy names.
// Called by: everything that handles a request (through command_table.h). Key extraction
// lives in command_keys.cpp.
#include "proxy/command/command_table.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace cmd {
namespace {

constexpr CommandSpec kCommands[] = {
#define RP_COMMAND(name, arity, firstKey, lastKey, keyStep, numKeysIndex, flags, strategy) \
  CommandSpec{name, arity, firstKey, lastKey, keyStep, numKeysIndex,                        \
              static_cast<uint32_t>(flags), Strategy::strategy},
#include "proxy/command/command_table_data.inc"
#undef RP_COMMAND
};

// lookup() copies the name onto the stack to fold case; longer names cannot be commands.
constexpr size_t kMaxNameLength = 32;

// Checked at compile time so a hand edit or a generator bug breaks the build, not lookups.
consteval bool tableIsWellFormed() {
  for (size_t i = 0; i < std::size(kCommands); ++i) {
    const std::string_view name = kCommands[i].name;
    if (name.empty() || name.size() > kMaxNameLength) return false;
    for (char c : name) {
      if (c >= 'A' && c <= 'Z') return false;
    }
    if (i > 0 && !(kCommands[i - 1].name < name)) return false;
  }
  return true;
}
static_assert(tableIsWellFormed(), "command table must be lowercase, unique and sorted");

struct FlagNameEntry {
  Flag flag;
  std::string_view name;
};

constexpr std::array<FlagNameEntry, 21> kFlagNames{{
    {Write, "write"},
    {ReadOnly, "readonly"},
    {Denyoom, "denyoom"},
    {Admin, "admin"},
    {PubSub, "pubsub"},
    {NoScript, "noscript"},
    {Blocking, "blocking"},
    {Loading, "loading"},
    {Stale, "stale"},
    {SkipMonitor, "skip_monitor"},
    {Fast, "fast"},
    {NoAuth, "no_auth"},
    {MayReplicate, "may_replicate"},
    {MovableKeys, "movablekeys"},
    {SkipSlowlog, "skip_slowlog"},
    {Asking, "asking"},
    {NoMandatoryKeys, "no_mandatory_keys"},
    {NoAsyncLoading, "no_async_loading"},
    {NoMulti, "no_multi"},
    {AllowBusy, "allow_busy"},
    {Module, "module"},
}};

}  // namespace

const CommandSpec* lookup(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return nullptr;
  char lowered[kMaxNameLength];
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    lowered[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view key(lowered, name.size());
  const auto* end = std::end(kCommands);
  const auto* it = std::lower_bound(std::begin(kCommands), end, key,
                                    [](const CommandSpec& spec, std::string_view k) {
                                      return spec.name < k;
                                    });
  return (it != end && it->name == key) ? it : nullptr;
}

std::span<const CommandSpec> allCommands() { return kCommands; }

std::string_view strategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::Local: return "Local";
    case Strategy::SingleKey: return "SingleKey";
    case Strategy::Fanout: return "Fanout";
    case Strategy::CoLocated: return "CoLocated";
    case Strategy::NumKeys: return "NumKeys";
    case Strategy::Keyspace: return "Keyspace";
    case Strategy::Broadcast: return "Broadcast";
    case Strategy::Transaction: return "Transaction";
    case Strategy::PubSub: return "PubSub";
    case Strategy::Blocking: return "Blocking";
    case Strategy::Unsupported: return "Unsupported";
  }
  return "?";
}

std::string_view flagName(Flag flag) {
  for (const auto& entry : kFlagNames) {
    if (entry.flag == flag) return entry.name;
  }
  return {};
}

std::optional<Flag> flagFromName(std::string_view name) {
  for (const auto& entry : kFlagNames) {
    if (entry.name == name) return entry.flag;
  }
  return std::nullopt;
}

bool arityOk(const CommandSpec& spec, size_t argc) {
  if (spec.arity >= 0) return argc == static_cast<size_t>(spec.arity);
  return argc >= static_cast<size_t>(-spec.arity);
}

}  // namespace cmd
