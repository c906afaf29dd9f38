// Commands the proxy answers itself (connection handshakes and introspection), as pure
// functions from arguments to reply bytes: no I/O, no Asio, testable alone.
// Owns: the per-connection LocalState, the proxy-wide LocalInfo facts, and the dispatch of
// every Local-strategy command to its reply builder (COMMAND lives in command_reply.*,
// INFO in info_reply.*).
// Called by: ClientSession::runLocal for commands whose strategy is Local, and the tests.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace proxy {

// Per-connection state that handshakes read and change.
struct LocalState {
  uint64_t clientId = 0;
  std::string name;     // CLIENT SETNAME
  std::string libName;  // CLIENT SETINFO LIB-NAME
  std::string libVer;   // CLIENT SETINFO LIB-VER
  std::string addr;     // peer address, for CLIENT INFO
};

// Proxy-wide facts some local replies need. Zero until the session fills them, so a reply
// built from a default LocalInfo is well-formed, just uninformative.
struct LocalInfo {
  size_t shardCount = 0;
  size_t workerCount = 0;
  size_t connectedClients = 0;
  size_t blockedClients = 0;          // sessions parked in BLPOP & co.
  uint64_t totalConnections = 0;      // accepted since start
  // INFO prints total_commands_processed only when set: a made-up 0 would mislead
  // monitoring that computes rates from it.
  std::optional<uint64_t> totalCommands;
  int64_t uptimeSeconds = 0;
  int64_t processId = 0;
  uint32_t tcpPort = 0;
  std::string_view version;           // ringproxy's own version
  std::string migrationLines;         // INFO's Migration section body ("field:value" CRLF lines)
  std::string cacheLines;             // INFO's Cache section body (empty: section left out)
  std::string hotkeyLines;            // INFO's Hotkeys section body
};

enum class LocalAction { Reply, ReplyThenClose };

// Argument accessor: arg(i) for i < argc.
struct LocalArgs {
  size_t argc;
  std::function<std::string_view(size_t)> arg;
};

// CONFIG GET of parameters the proxy answers itself (what clients probe at start); any
// other parameter is answered by a shard.
bool configGetIsLocal(const LocalArgs& args);

// Appends the reply for `args` (args.arg(0) is the command name) to `out`.
LocalAction runLocalCommand(const LocalArgs& args, LocalState& state, const LocalInfo& info,
                            std::string& out);

}  // namespace proxy
