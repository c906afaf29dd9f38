// ReplyScanner: finds where one complete RESP2 reply frame ends in backend bytes, without
// building objects, so single-shard replies are forwarded as raw bytes.
// Handles + - : $ * including null bulk/array and nesting to any depth up to a cap; resumable.
// Called by: pool::BackendConnection for every byte a shard sends; fan-out merges (to split
// an array reply into element spans); tests; the fuzz target.
//
// Contract: `buf` starts at the first byte of the frame being scanned. Complete: the frame
// is the first `consumed` bytes. Incomplete: consumed == 0; call again with more bytes
// appended to the same start (state is kept, already-scanned bytes are not rescanned).
// Error: not RESP2 (the connection must be dropped). After Complete or Error the scanner is
// ready for the next frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "proxy/resp/request_parser.h"  // ParseStatus, ParseResult

namespace resp {

class ReplyScanner {
 public:
  explicit ReplyScanner(size_t maxBulkBytes = 1024ull * 1024 * 1024, size_t maxDepth = 1024);

  ParseResult scan(std::string_view buf);
  void reset();

 private:
  enum class Step { Leaf, Opened, NeedMore, Bad };
  enum class Line { Found, NeedMore, Bad };

  Step scanElement(std::string_view buf, size_t& pos);
  Step scanBulk(std::string_view buf, size_t& pos);
  Step scanArrayHeader(std::string_view buf, size_t& pos);
  Line findLine(std::string_view buf, size_t start, size_t maxLen, size_t& cr);
  Line readNumberLine(std::string_view buf, size_t start, size_t& cr, int64_t& value);
  bool closeElement();
  ParseResult finish(ParseStatus status, size_t consumed);

  size_t maxBulk_;
  size_t maxDepth_;
  size_t pos_ = 0;                 // resume offset inside the frame
  size_t lineScan_ = 0;            // where the search for the current line's end resumes
  std::vector<int64_t> pending_;   // elements still expected per open array level
};

// Splits a complete array reply (as found by ReplyScanner) into its elements' byte spans.
// Returns false if `frame` is not an array (e.g. an error or a null array); `elements` is
// then left empty.
bool splitArray(std::string_view frame, std::vector<std::string_view>& elements);

}  // namespace resp
