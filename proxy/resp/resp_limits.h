// Protocol limits of the client-facing parser, with Redis 7.0's defaults.
// Called by: RequestParser, the config loader (overrides), ClientSession.
#pragma once

#include <cstddef>
#include <cstdint>

namespace resp {

struct Limits {
  size_t maxBulkBytes = 512ull * 1024 * 1024;  // proto-max-bulk-len
  size_t maxArgs = 1024 * 1024;                // multibulk count cap (Redis allows INT_MAX; we cap)
  size_t maxInlineBytes = 64 * 1024;           // PROTO_INLINE_MAX_SIZE: inline line and *N/$N header lines
  // Applied while the client has not authenticated (Redis: 10 args, 16 KiB bulks).
  size_t unauthMaxArgs = 10;
  size_t unauthMaxBulkBytes = 16 * 1024;
};

}  // namespace resp
