// Commands the proxy answers itself (connection handshakes and introspection), as pure
// functions from arguments to reply bytes: no I/O, no Asio, testable alone.
// Called by: ClientSession::runLocal for commands whose strategy is Local.
#pragma once

#include <cstdint>
#include <functional>
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

// Proxy-wide facts some local replies need.
struct LocalInfo {
  size_t shardCount = 0;
  size_t workerCount = 0;
  size_t connectedClients = 0;
  std::string_view version;
};

enum class LocalAction { Reply, ReplyThenClose };

// Argument accessor: arg(i) for i < argc.
struct LocalArgs {
  size_t argc;
  std::function<std::string_view(size_t)> arg;
};

// Appends the reply for `args` (args.arg(0) is the command name) to `out`.
LocalAction runLocalCommand(const LocalArgs& args, LocalState& state, const LocalInfo& info,
                            std::string& out);

}  // namespace proxy
