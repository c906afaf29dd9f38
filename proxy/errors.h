// Every client-visible error and fixed reply text of ringproxy, in one place.
// Redis's own wording wherever Redis has a reply for the situation, so client libraries
// that match on it keep working. Texts are without the leading '-' and trailing CRLF.
#pragma once

#include <string>
#include <string_view>

namespace proxy::errors {

inline constexpr std::string_view kNoDb = "ERR DB index is out of range";
inline constexpr std::string_view kSelectOnlyZero =
    "ERR ringproxy serves only database 0 (SELECT 0)";
inline constexpr std::string_view kCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot";
inline constexpr std::string_view kNoProto = "NOPROTO unsupported protocol version";
inline constexpr std::string_view kShuttingDown = "ERR ringproxy is shutting down";
inline constexpr std::string_view kMaxClients = "ERR max number of clients reached";
inline constexpr std::string_view kSyntax = "ERR syntax error";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";

// Redis 7.0: "unknown command 'x', with args beginning with: 'a' 'b' " (args up to 128 bytes).
std::string unknownCommand(std::string_view name, const std::string_view* args, size_t argc);
// Redis 7.0: "wrong number of arguments for 'get' command".
std::string wrongArity(std::string_view name);
// A command the proxy recognises but cannot (yet) run across shards.
std::string notSupported(std::string_view name);
// A keyspace-wide or broadcast command inside MULTI (it cannot run on one shard).
std::string notInTransaction(std::string_view name);
// Unknown subcommand, Redis's wording.
std::string unknownSubcommand(std::string_view sub, std::string_view command);
// Backend failures, naming the shard.
std::string backendTimeout(std::string_view shard);
std::string backendUnavailable(std::string_view shard);
std::string backendClosed(std::string_view shard);
std::string backendProtocol(std::string_view shard);
std::string backendOverloaded(std::string_view shard);
// A request touched a key that is moving between shards and the move failed (`reason`
// is the source shard's reply or a backend error text).
std::string moveFailed(std::string_view from, std::string_view to, std::string_view reason);
// The connection a transaction (WATCH/MULTI) was pinned to dropped: its state on the shard
// is gone, so the transaction is refused rather than run without it.
std::string transactionLinkLost(std::string_view shard);
// This instance cannot refresh its membership record during a migration, so the other
// instances may already have moved the key: it refuses rather than risk a stale copy.
inline constexpr std::string_view kMovingIsolated =
    "TRYAGAIN ringproxy: this key is moving between shards and this proxy lost contact with the "
    "other proxies' records on the shards; retry (or use another proxy instance)";

}  // namespace proxy::errors
