// INFO's text in Redis 7.0.15's layout ("# Section" headers, "field:value" CRLF lines,
// one blank line between sections), from the proxy's own facts. The keyspace section is
// left to the caller, which alone can ask the shards for their key counts.
// Called by: runLocalCommand (INFO with an empty keyspace) and ClientSession, which sums
// the shards' keyspace and appends it with appendKeyspaceSection.
#pragma once

#include <cstdint>
#include <string>

#include "proxy/server/local_commands.h"

namespace proxy {

struct InfoBody {
  std::string text;                // every requested section except Keyspace
  bool keyspaceRequested = false;  // the caller must append the Keyspace section
};

// `args` is the whole INFO command (args.arg(0) == "info"); sections are args 1.. in any
// case. No section, "default", "all" and "everything" select every section ringproxy
// has; unknown names select nothing, so `INFO nosuch` is an empty body, as in Redis.
InfoBody infoBody(const LocalInfo& info, const LocalArgs& args);

// Totals over the shards' db0. avgTtl is in milliseconds, as Redis reports it.
struct KeyspaceTotals {
  uint64_t keys = 0;
  uint64_t expires = 0;
  uint64_t avgTtl = 0;
};

// Appends "# Keyspace" (after the blank separator line when `text` is not empty) and, as
// Redis does only for a non-empty database, the "db0:keys=..." line.
void appendKeyspaceSection(std::string& text, const KeyspaceTotals& totals);

}  // namespace proxy
