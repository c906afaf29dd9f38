// RequestParser: the client-side RESP request parser (multibulk and inline).
// A pure, resumable state machine over a byte span: no I/O, no exceptions, and no
// allocation sized from a count a client declared (argument slots grow only as arguments
// actually arrive). Argument views point into the caller's buffer (multibulk) or into the
// parser's own scratch (inline commands, which need unquoting).
// Called by: ClientSession for every byte a client sends; tests; the fuzz target.
//
// Contract: the caller passes `buf` starting at the first byte it has not consumed yet.
//  - Complete: a whole request of `consumed` bytes is at the start of `buf`; argc()/arg(i)
//    describe it until the next parse() call. argc() == 0 means an empty request (empty
//    inline line, "*0", "*-1"), which Redis silently ignores: skip it.
//  - Incomplete: consumed == 0; keep the bytes, append more, call again with `buf` starting
//    at the same byte. The parser resumes where it stopped (no rescan of a large bulk).
//  - Error: error()/errorText() give Redis's exact protocol error; the client is sent
//    "-ERR <text>" and closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/resp/resp_limits.h"

namespace resp {

enum class ParseStatus { Complete, Incomplete, Error };

enum class ProtoError {
  None,
  TooBigInline,            // "Protocol error: too big inline request"
  UnbalancedQuotes,        // "Protocol error: unbalanced quotes in request"
  TooBigMbulkCount,        // "Protocol error: too big mbulk count string"
  InvalidMultibulkLength,  // "Protocol error: invalid multibulk length"
  TooBigBulkCount,         // "Protocol error: too big bulk count string"
  ExpectedDollar,          // "Protocol error: expected '$', got '<c>'"
  InvalidBulkLength,       // "Protocol error: invalid bulk length"
  UnauthMultibulkLength,   // "Protocol error: unauthenticated multibulk length"
  UnauthBulkLength,        // "Protocol error: unauthenticated bulk length"
};

struct ParseResult {
  ParseStatus status;
  size_t consumed;
};

class RequestParser {
 public:
  explicit RequestParser(Limits limits = {});

  ParseResult parse(std::string_view buf);

  size_t argc() const { return args_.size(); }
  std::string_view arg(size_t i) const;
  // True when the last complete request was an inline command (its bytes are not RESP).
  bool isInline() const { return inline_; }

  ProtoError error() const { return error_; }
  // Redis's text without the "-ERR " prefix, e.g. "Protocol error: invalid bulk length".
  std::string errorText() const;

  // Unauthenticated clients get Redis's tighter limits.
  void setAuthenticated(bool yes) { authenticated_ = yes; }
  // Forget any partial request (e.g. after the buffer was discarded).
  void reset();

 private:
  enum class State { Start, ArgHeader, ArgData };
  enum class Step { Done, NeedMore, Failed };
  struct Span {
    uint32_t offset;  // from buf start (multibulk) or scratch start (inline)
    uint32_t length;
  };

  ParseResult parseInline(std::string_view buf);
  ParseResult parseMultibulk(std::string_view buf);
  ParseResult fail(ProtoError e, char got = 0);
  ParseResult complete(size_t consumed);
  Step readCount(std::string_view buf, size_t& pos);
  Step readBulkHeader(std::string_view buf, size_t& pos);
  size_t findLineEnd(std::string_view buf, size_t start);
  Step lineNotVisible(std::string_view buf, size_t start, size_t cr, ProtoError tooBig);
  Step failStep(ProtoError e, char got = 0);
  bool splitInline(const char* line, size_t len);

  Limits limits_;
  bool authenticated_ = true;
  State state_ = State::Start;
  size_t pos_ = 0;          // resume offset inside the current request
  int64_t remaining_ = 0;   // arguments still expected
  int64_t bulkLen_ = 0;     // length of the argument being read
  const char* base_ = nullptr;
  bool inline_ = false;
  std::vector<Span> args_;
  std::string scratch_;     // inline arguments after unquoting
  size_t lineScan_ = 0;     // where the search for the current line's terminator resumes
  bool nulSeen_ = false;    // inline: a NUL precedes any newline, which Redis then never sees
  ProtoError error_ = ProtoError::None;
  char errorChar_ = 0;
};

}  // namespace resp
