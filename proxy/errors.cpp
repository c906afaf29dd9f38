// Builders for the parameterised client-visible texts declared in errors.h.
#include "proxy/text.h"
#include "proxy/errors.h"

#include <algorithm>
#include <cctype>

namespace proxy::errors {

namespace {
using text::lower;
// Redis replaces newlines in error texts so the reply stays one line.
std::string oneLine(std::string s) {
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return s;
}

}  // namespace

std::string unknownCommand(std::string_view name, const std::string_view* args, size_t argc) {
  std::string list;
  for (size_t i = 0; i < argc && list.size() < 128; ++i) {
    const size_t room = 128 - list.size();
    list += '\'';
    list.append(args[i].substr(0, room));
    list += "' ";
  }
  return oneLine("ERR unknown command '" + std::string(name.substr(0, 128)) +
                 "', with args beginning with: " + list);
}

std::string wrongArity(std::string_view name) {
  return oneLine("ERR wrong number of arguments for '" + lower(name) + "' command");
}

std::string notSupported(std::string_view name) {
  return oneLine("ERR command '" + lower(name) + "' is not supported by ringproxy");
}

std::string notInTransaction(std::string_view name) {
  return oneLine("ERR command '" + lower(name) + "' cannot be used inside MULTI through ringproxy");
}

std::string unknownSubcommand(std::string_view sub, std::string_view command) {
  return oneLine("ERR unknown subcommand '" + std::string(sub.substr(0, 128)) + "'. Try " +
                 std::string(command) + " HELP.");
}

std::string backendTimeout(std::string_view shard) {
  return "ERR ringproxy: shard '" + std::string(shard) + "' timed out";
}
std::string backendUnavailable(std::string_view shard) {
  return "ERR ringproxy: shard '" + std::string(shard) + "' is unavailable";
}
std::string backendClosed(std::string_view shard) {
  return "ERR ringproxy: connection to shard '" + std::string(shard) + "' was lost";
}
std::string backendProtocol(std::string_view shard) {
  return "ERR ringproxy: shard '" + std::string(shard) + "' sent an invalid reply";
}
std::string backendOverloaded(std::string_view shard) {
  return "ERR ringproxy: shard '" + std::string(shard) + "' is overloaded, try again";
}

std::string moveFailed(std::string_view from, std::string_view to, std::string_view reason) {
  return "ERR ringproxy: could not move the key from shard '" + std::string(from) + "' to its new shard '" +
         std::string(to) + "' (live rebalancing): " + std::string(reason);
}

std::string transactionLinkLost(std::string_view shard) {
  return "EXECABORT ringproxy: the connection to shard '" + std::string(shard) +
         "' carrying this transaction was lost (WATCH and queued commands are gone); start it again";
}

}  // namespace proxy::errors
