// fuzz_request_parser: libFuzzer target for resp::RequestParser, the parser every byte a
// client sends goes through. Drives it the way ClientSession::processInput does (Complete:
// advance by `consumed`; Incomplete: wait for more bytes; Error: close) and checks:
//  - the result contract: consumed <= size, Complete consumes something, Incomplete and
//    Error consume nothing, an Error always has Redis's "Protocol error: ..." text;
//  - every arg(i) view: a multibulk argument is exactly the bytes its "$<len>" header
//    announced, inside the request's bytes; an inline argument lies in the parser's scratch
//    (contiguous, never in the caller's buffer), and, for a line with no quotes, equals a
//    plain blank-split of the line;
//  - resumption: the same bytes delivered in 1-4 reads, each into new storage (as the session
//    moves its buffer), give the same requests and the same final status as one read.
//    Only exception: Redis itself refuses an over-long line it cannot see the end of yet
//    ("too big ... "), so an input cut short may fail where the whole input would not.
// The limits (Redis defaults, unauthenticated, or tiny ones that make the size checks
// reachable with small inputs) and the read boundaries derive from a hash of the input, so
// a crash file reproduces on its own.
// Built by tests/fuzz/CMakeLists.txt (RP_FUZZ=ON, clang); run by scripts/fuzz.sh.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "proxy/resp/request_parser.h"

namespace {

using resp::ParseResult;
using resp::ParseStatus;
using resp::ProtoError;

struct Profile {
  resp::Limits limits;
  bool authenticated = true;
  bool defaults = true;  // Redis's limits, authenticated: the profile real clients get
};

Profile pickProfile(uint64_t& rng) {
  Profile p;
  switch (fuzz::nextRandom(rng) % 4) {
    case 0:
    case 1:
      break;
    case 2:
      p.authenticated = false;
      p.defaults = false;
      break;
    default: {
      // Fuzz inputs stay under a few KiB, so the 64 KiB / 512 MiB defaults would leave
      // every size check unreached.
      p.defaults = false;
      p.authenticated = fuzz::nextRandom(rng) % 2 == 0;
      p.limits.maxInlineBytes = 1 + fuzz::nextRandom(rng) % 64;
      p.limits.maxBulkBytes = fuzz::nextRandom(rng) % 80;
      p.limits.maxArgs = 1 + fuzz::nextRandom(rng) % 10;
      p.limits.unauthMaxArgs = fuzz::nextRandom(rng) % 5;
      p.limits.unauthMaxBulkBytes = fuzz::nextRandom(rng) % 20;
    }
  }
  return p;
}

// What a run saw, flattened into one string (kind, size and arguments of each request) so
// that recording it costs no allocation per argument and comparing two runs is one compare.
struct Outcome {
  std::string requests;
  std::vector<size_t> sizes;  // consumed per request, for the failure message
  std::vector<bool> inlines;
  ParseStatus end = ParseStatus::Incomplete;  // how the run stopped: Incomplete or Error
  ProtoError error = ProtoError::None;
  std::string errorText;
  bool operator==(const Outcome&) const = default;
};

void appendSize(std::string& out, size_t n) {
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
}

const char* statusName(ParseStatus s) {
  switch (s) {
    case ParseStatus::Complete:
      return "Complete";
    case ParseStatus::Incomplete:
      return "Incomplete";
    case ParseStatus::Error:
      return "Error";
  }
  return "?";
}

std::string describe(const Outcome& o) {
  std::string text = std::to_string(o.sizes.size()) + " requests [";
  for (size_t i = 0; i < o.sizes.size(); ++i) {
    text += " " + std::to_string(o.sizes[i]) + (o.inlines[i] ? "i" : "");
  }
  text += " ] (sizes, i = inline), then ";
  text += statusName(o.end);
  if (o.end == ParseStatus::Error) text += " '" + o.errorText + "'";
  return text;
}

// "<type><canonical int64>\r<any byte>" at pos: the header line the parser must have
// accepted. Redis skips the byte after '\r' unseen, so it is not checked.
bool readHeader(std::string_view frame, size_t& pos, char type, int64_t& value) {
  if (pos >= frame.size() || frame[pos] != type) return false;
  const size_t cr = frame.find('\r', pos + 1);
  if (cr == std::string_view::npos || cr + 2 > frame.size()) return false;
  const std::string_view digits = frame.substr(pos + 1, cr - pos - 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  // string2ll's canonical form is exactly what to_string prints back.
  if (ec != std::errc() || end != digits.data() + digits.size() ||
      std::to_string(value) != digits) {
    return false;
  }
  pos = cr + 2;
  return true;
}

void checkMultibulk(const resp::RequestParser& parser, std::string_view frame) {
  size_t pos = 0;
  int64_t count = 0;
  FUZZ_CHECK(readHeader(frame, pos, '*', count), "no canonical *<count> line in a Complete");
  if (parser.argc() == 0) {
    FUZZ_CHECK(count <= 0, "argc 0 but *%lld", static_cast<long long>(count));
    FUZZ_CHECK(pos == frame.size(), "empty request consumed %zu, its header is %zu bytes",
               frame.size(), pos);
    return;
  }
  FUZZ_CHECK(count == static_cast<int64_t>(parser.argc()), "argc %zu but *%lld", parser.argc(),
             static_cast<long long>(count));
  for (size_t i = 0; i < parser.argc(); ++i) {
    int64_t len = 0;
    FUZZ_CHECK(readHeader(frame, pos, '$', len), "arg %zu: no canonical $<len> line", i);
    const std::string_view arg = parser.arg(i);
    FUZZ_CHECK(len >= 0 && static_cast<uint64_t>(len) == arg.size(),
               "arg %zu: header says %lld bytes, view has %zu", i, static_cast<long long>(len),
               arg.size());
    FUZZ_CHECK(arg.data() == frame.data() + pos,
               "arg %zu: view is not at its bytes in the caller's buffer", i);
    FUZZ_CHECK(pos + arg.size() + 2 <= frame.size(), "arg %zu runs past the request", i);
    pos += arg.size() + 2;
  }
  FUZZ_CHECK(pos == frame.size(), "request consumed %zu bytes, its arguments end at %zu",
             frame.size(), pos);
}

bool isBlank(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// sdssplitargs for a line with no quotes: blanks (C isspace) separate arguments, but only
// space, \t, \r and \n end one. True when the parser's arguments are exactly those.
bool matchesUnquotedSplit(const resp::RequestParser& parser, std::string_view line) {
  size_t i = 0;
  size_t k = 0;
  for (;;) {
    while (i < line.size() && isBlank(line[i])) ++i;
    if (i == line.size()) return k == parser.argc();
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
           line[i] != '\n') {
      ++i;
    }
    if (k >= parser.argc() || parser.arg(k) != line.substr(start, i - start)) return false;
    ++k;
    if (i < line.size()) ++i;
  }
}

void checkInline(const resp::RequestParser& parser, std::string_view buf, size_t consumed) {
  FUZZ_CHECK(buf[consumed - 1] == '\n', "inline request does not end at a newline");
  std::string_view line = buf.substr(0, consumed - 1);
  FUZZ_CHECK(line.find('\n') == std::string_view::npos, "inline request spans two lines");
  // Redis finds the newline with strchr, which a NUL hides.
  FUZZ_CHECK(line.find('\0') == std::string_view::npos, "inline request holds a NUL");
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t total = 0;
  const char* expected = nullptr;
  for (size_t i = 0; i < parser.argc(); ++i) {
    const std::string_view arg = parser.arg(i);
    FUZZ_CHECK(arg.empty() || !fuzz::within(arg, buf.data(), buf.data() + buf.size()),
               "inline arg %zu points into the caller's buffer, not the scratch", i);
    FUZZ_CHECK(i == 0 || arg.data() == expected, "inline arg %zu is not after arg %zu", i,
               i - 1);
    expected = arg.data() + arg.size();
    total += arg.size();
  }
  FUZZ_CHECK(total <= line.size(), "inline args hold %zu bytes, the line %zu", total,
             line.size());
  if (line.find_first_of("\"'") == std::string_view::npos) {
    FUZZ_CHECK(matchesUnquotedSplit(parser, line), "unquoted inline line split differently");
  }
}

// One parse() result, checked and recorded. False when the run stops here.
bool record(const resp::RequestParser& parser, std::string_view buf, ParseResult r,
            Outcome& out) {
  FUZZ_CHECK(r.consumed <= buf.size(), "consumed %zu of %zu bytes", r.consumed, buf.size());
  switch (r.status) {
    case ParseStatus::Incomplete:
      FUZZ_CHECK(r.consumed == 0, "Incomplete consumed %zu", r.consumed);
      FUZZ_CHECK(parser.error() == ProtoError::None, "Incomplete with an error set");
      out.end = ParseStatus::Incomplete;
      return false;
    case ParseStatus::Error:
      FUZZ_CHECK(r.consumed == 0, "Error consumed %zu", r.consumed);
      FUZZ_CHECK(parser.error() != ProtoError::None, "Error without an error code");
      out.end = ParseStatus::Error;
      out.error = parser.error();
      out.errorText = parser.errorText();
      FUZZ_CHECK(out.errorText.rfind("Protocol error: ", 0) == 0, "error text '%s'",
                 out.errorText.c_str());
      return false;
    case ParseStatus::Complete:
      break;
  }
  // A Complete that consumed nothing would spin the session's read loop forever.
  FUZZ_CHECK(r.consumed > 0, "Complete consumed nothing");
  FUZZ_CHECK(parser.error() == ProtoError::None, "Complete with an error set");
  const bool isInline = parser.isInline();
  FUZZ_CHECK(isInline == (buf[0] != '*'), "isInline() disagrees with the first byte");
  out.requests += isInline ? 'i' : 'm';
  appendSize(out.requests, r.consumed);
  appendSize(out.requests, parser.argc());
  // Copying every byte of every view makes ASan check that each one is still readable.
  for (size_t i = 0; i < parser.argc(); ++i) {
    appendSize(out.requests, parser.arg(i).size());
    out.requests += parser.arg(i);
  }
  out.sizes.push_back(r.consumed);
  out.inlines.push_back(isInline);
  if (isInline) {
    checkInline(parser, buf, r.consumed);
  } else {
    checkMultibulk(parser, buf.substr(0, r.consumed));
  }
  return true;
}

resp::RequestParser makeParser(const Profile& profile) {
  resp::RequestParser parser(profile.limits);
  parser.setAuthenticated(profile.authenticated);
  return parser;
}

// Reads arrive ending at each of `bounds` (ascending, the last one the whole input; equal
// bounds mean a wake-up with nothing new). Like ClientSession, what is left unconsumed after
// a read is kept and handed over again, now in new storage, with the next read's bytes.
Outcome runReads(const uint8_t* data, const std::vector<size_t>& bounds, const Profile& profile,
                 bool& stoppedEarly) {
  resp::RequestParser parser = makeParser(profile);
  Outcome out;
  size_t off = 0;
  stoppedEarly = false;
  for (size_t k = 0; k < bounds.size(); ++k) {
    const fuzz::HeapBytes held(data + off, bounds[k] - off);
    size_t local = 0;
    while (local < held.size()) {
      const std::string_view buf = held.view().substr(local);
      const ParseResult r = parser.parse(buf);
      if (!record(parser, buf, r, out)) break;
      local += r.consumed;
    }
    if (local == held.size()) out.end = ParseStatus::Incomplete;  // nothing left to parse
    off += local;
    if (out.end == ParseStatus::Error) {
      stoppedEarly = k + 1 < bounds.size();
      break;
    }
  }
  // After an error the session closes the client, but the parser promises to be reusable.
  if (out.end == ParseStatus::Error && profile.defaults) {
    const std::string ping = "*1\r\n$4\r\nPING\r\n";
    const ParseResult r = parser.parse(ping);
    FUZZ_CHECK(r.status == ParseStatus::Complete && r.consumed == ping.size() &&
                   parser.argc() == 1 && parser.arg(0) == "PING",
               "parser unusable after an error");
  }
  return out;
}

bool sizeError(ProtoError e) {
  return e == ProtoError::TooBigInline || e == ProtoError::TooBigMbulkCount ||
         e == ProtoError::TooBigBulkCount;
}

std::string boundsText(const std::vector<size_t>& bounds) {
  std::string text;
  for (size_t b : bounds) text += " " + std::to_string(b);
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t rng = fuzz::hashBytes(data, size);
  const Profile profile = pickProfile(rng);

  bool unused = false;
  const Outcome whole = runReads(data, {size}, profile, unused);

  std::vector<size_t> bounds;
  const size_t cuts = 1 + fuzz::nextRandom(rng) % 3;
  for (size_t i = 0; i < cuts; ++i) bounds.push_back(fuzz::nextRandom(rng) % (size + 1));
  std::sort(bounds.begin(), bounds.end());
  bounds.push_back(size);
  bool stoppedEarly = false;
  const Outcome pieces = runReads(data, bounds, profile, stoppedEarly);

  // Only a read cut short by Redis's own size rule may stop earlier than one read did.
  if (stoppedEarly && pieces.end == ParseStatus::Error && sizeError(pieces.error)) {
    FUZZ_CHECK(whole.requests.compare(0, pieces.requests.size(), pieces.requests) == 0,
               "reads ending at%s: %s\n  one read: %s", boundsText(bounds).c_str(),
               describe(pieces).c_str(), describe(whole).c_str());
  } else {
    FUZZ_CHECK(pieces == whole, "reads ending at%s: %s\n  one read: %s",
               boundsText(bounds).c_str(), describe(pieces).c_str(), describe(whole).c_str());
  }
  return 0;
}
