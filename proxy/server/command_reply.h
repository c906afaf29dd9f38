// COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, HELP), generated from the
// command table so ringproxy describes exactly the commands it knows, in Redis 7.0.15's
// wire format. Pure: no I/O, no Asio.
// Called by: runLocalCommand (local_commands.cpp) and the tests.
#pragma once

#include <string>

#include "proxy/command/command_table.h"
#include "proxy/server/local_commands.h"

namespace proxy {

// Appends the reply to `COMMAND [subcommand args...]`; args.arg(0) is "command".
void commandReply(const LocalArgs& args, std::string& out);

// One command's 10-element entry, as COMMAND and COMMAND INFO send it.
void appendCommandEntry(const cmd::CommandSpec& spec, std::string& out);

}  // namespace proxy
