// fuzz_reply_scanner: libFuzzer target for resp::ReplyScanner (frames every byte a shard
// sends) and resp::splitArray (fan-out merges). Drives the scanner the way
// pool::BackendConnection does (Complete: advance by `consumed`; Incomplete: wait for more;
// Error: drop the connection) and checks:
//  - the result contract: consumed <= size, Complete consumes something, Incomplete and
//    Error consume nothing;
//  - each outcome against a small recursive RESP2 reader written here from the protocol
//    rules (not from the scanner's state machine), with the same size and depth caps;
//  - resumption: the same bytes delivered in 1-4 reads, each into new storage, give the
//    same frames and the same final status as one read (the scanner has no chunk-dependent
//    cases, unlike the request parser);
//  - splitArray on every complete frame: an array splits into exactly its announced
//    elements, back to back, each itself one complete frame; anything else is refused.
//    splitArray on the raw input (not a frame) must merely stay in bounds.
// The caps (defaults or tiny ones) and read boundaries derive from a hash of the input.
// Built by tests/fuzz/CMakeLists.txt (RP_FUZZ=ON, clang); run by scripts/fuzz.sh.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "proxy/resp/reply_scanner.h"

namespace {

using resp::ParseResult;
using resp::ParseStatus;

struct Caps {
  size_t maxBulk = 1024ull * 1024 * 1024;  // ReplyScanner's defaults
  size_t maxDepth = 1024;
};

Caps pickCaps(uint64_t& rng) {
  Caps caps;
  if (fuzz::nextRandom(rng) % 4 == 3) {
    caps.maxBulk = fuzz::nextRandom(rng) % 40;
    caps.maxDepth = fuzz::nextRandom(rng) % 5;
  }
  return caps;
}

// ---- The reference reader: RESP2 as the protocol spec states it, plus the scanner's caps.

enum class Ref { Ok, More, Bad };

constexpr size_t kMaxNumberLine = 32;  // type byte excluded; the scanner's documented cap

// The line starting at `start` (a type byte): its "\r\n" must follow the first '\r'.
Ref refLine(std::string_view buf, size_t start, size_t maxLen, size_t& cr) {
  cr = buf.find('\r', start + 1);
  if (cr == std::string_view::npos) return buf.size() - start - 1 > maxLen ? Ref::Bad : Ref::More;
  if (cr - start - 1 > maxLen) return Ref::Bad;
  if (cr + 1 == buf.size()) return Ref::More;
  return buf[cr + 1] == '\n' ? Ref::Ok : Ref::Bad;
}

Ref refNumber(std::string_view buf, size_t start, size_t& cr, int64_t& value) {
  const Ref line = refLine(buf, start, kMaxNumberLine, cr);
  if (line != Ref::Ok) return line;
  const std::string_view digits = buf.substr(start + 1, cr - start - 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  // Redis's string2ll: exactly the canonical decimal form to_string prints.
  const bool ok = ec == std::errc() && end == digits.data() + digits.size() &&
                  std::to_string(value) == digits;
  return ok ? Ref::Ok : Ref::Bad;
}

// One element at pos, `depth` arrays deep; on Ok, pos is past it.
Ref refElement(std::string_view buf, size_t& pos, size_t depth, const Caps& caps) {
  if (pos >= buf.size()) return Ref::More;
  size_t cr = 0;
  int64_t n = 0;
  switch (buf[pos]) {
    case '+':
    case '-': {
      const Ref r = refLine(buf, pos, caps.maxBulk, cr);
      if (r == Ref::Ok) pos = cr + 2;
      return r;
    }
    case ':': {
      const Ref r = refNumber(buf, pos, cr, n);
      if (r == Ref::Ok) pos = cr + 2;
      return r;
    }
    case '$': {
      const Ref r = refNumber(buf, pos, cr, n);
      if (r != Ref::Ok) return r;
      if (n < -1 || (n >= 0 && static_cast<uint64_t>(n) > caps.maxBulk)) return Ref::Bad;
      pos = cr + 2;
      if (n == -1) return Ref::Ok;
      const size_t len = static_cast<size_t>(n);
      if (buf.size() - pos < len + 2) return Ref::More;
      if (buf[pos + len] != '\r' || buf[pos + len + 1] != '\n') return Ref::Bad;
      pos += len + 2;
      return Ref::Ok;
    }
    case '*': {
      const Ref r = refNumber(buf, pos, cr, n);
      if (r != Ref::Ok) return r;
      if (n < -1) return Ref::Bad;
      pos = cr + 2;
      if (n <= 0) return Ref::Ok;
      if (depth >= caps.maxDepth) return Ref::Bad;
      for (int64_t i = 0; i < n; ++i) {
        const Ref e = refElement(buf, pos, depth + 1, caps);
        if (e != Ref::Ok) return e;
      }
      return Ref::Ok;
    }
    default:
      return Ref::Bad;
  }
}

// ---- Driving the scanner.

struct Outcome {
  std::vector<size_t> frames;  // consumed per Complete
  ParseStatus end = ParseStatus::Incomplete;
  bool operator==(const Outcome&) const = default;
};

std::string describe(const Outcome& o) {
  std::string text = std::to_string(o.frames.size()) + " frames [";
  for (size_t f : o.frames) text += " " + std::to_string(f);
  text += " ] then ";
  text += o.end == ParseStatus::Error ? "Error" : "Incomplete";
  return text;
}

std::string boundsText(const std::vector<size_t>& bounds) {
  std::string text;
  for (size_t b : bounds) text += " " + std::to_string(b);
  return text;
}

void checkSplit(std::string_view frame) {
  std::vector<std::string_view> elements;
  const bool ok = resp::splitArray(frame, elements);
  size_t pos = 0;
  size_t cr = 0;
  int64_t count = 0;
  if (frame[0] != '*' || refNumber(frame, 0, cr, count) != Ref::Ok || count < 0) {
    FUZZ_CHECK(!ok && elements.empty(), "splitArray accepted a frame that is no array");
    return;
  }
  FUZZ_CHECK(ok, "splitArray refused a complete array frame");
  FUZZ_CHECK(elements.size() == static_cast<size_t>(count), "split into %zu of %lld elements",
             elements.size(), static_cast<long long>(count));
  pos = cr + 2;
  const Caps unlimited{SIZE_MAX, SIZE_MAX};
  for (size_t i = 0; i < elements.size(); ++i) {
    const std::string_view e = elements[i];
    FUZZ_CHECK(e.data() == frame.data() + pos, "element %zu is not right after element %zu",
               i, i - 1);
    FUZZ_CHECK(pos + e.size() <= frame.size(), "element %zu runs past the frame", i);
    size_t end = 0;
    FUZZ_CHECK(refElement(e, end, 0, unlimited) == Ref::Ok && end == e.size(),
               "element %zu (%zu bytes) is not exactly one frame", i, e.size());
    pos += e.size();
  }
  FUZZ_CHECK(pos == frame.size(), "elements end at %zu, the frame at %zu", pos, frame.size());
}

// One scan() result against the reference, recorded. False when the run stops here.
bool record(std::string_view buf, ParseResult r, const Caps& caps, Outcome& out) {
  FUZZ_CHECK(r.consumed <= buf.size(), "consumed %zu of %zu bytes", r.consumed, buf.size());
  size_t refEnd = 0;
  const Ref ref = refElement(buf, refEnd, 0, caps);
  switch (r.status) {
    case ParseStatus::Incomplete:
      FUZZ_CHECK(r.consumed == 0, "Incomplete consumed %zu", r.consumed);
      FUZZ_CHECK(ref == Ref::More, "scanner waits for more, reference says %s",
                 ref == Ref::Ok ? "complete" : "bad");
      out.end = ParseStatus::Incomplete;
      return false;
    case ParseStatus::Error:
      FUZZ_CHECK(r.consumed == 0, "Error consumed %zu", r.consumed);
      FUZZ_CHECK(ref == Ref::Bad, "scanner says bad, reference says %s",
                 ref == Ref::Ok ? "complete" : "incomplete");
      out.end = ParseStatus::Error;
      return false;
    case ParseStatus::Complete:
      break;
  }
  FUZZ_CHECK(r.consumed > 0, "Complete consumed nothing");
  FUZZ_CHECK(ref == Ref::Ok && refEnd == r.consumed,
             "scanner: frame of %zu bytes; reference: %s at %zu", r.consumed,
             ref == Ref::Ok ? "frame" : ref == Ref::More ? "incomplete" : "bad", refEnd);
  checkSplit(buf.substr(0, r.consumed));
  out.frames.push_back(r.consumed);
  return true;
}

Outcome runReads(const uint8_t* data, const std::vector<size_t>& bounds, const Caps& caps) {
  resp::ReplyScanner scanner(caps.maxBulk, caps.maxDepth);
  Outcome out;
  size_t off = 0;
  for (size_t k = 0; k < bounds.size(); ++k) {
    const fuzz::HeapBytes held(data + off, bounds[k] - off);
    size_t local = 0;
    while (local < held.size()) {
      const std::string_view buf = held.view().substr(local);
      const ParseResult r = scanner.scan(buf);
      if (!record(buf, r, caps, out)) break;
      local += r.consumed;
    }
    if (local == held.size()) out.end = ParseStatus::Incomplete;
    off += local;
    if (out.end == ParseStatus::Error) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t rng = fuzz::hashBytes(data, size);
  const Caps caps = pickCaps(rng);

  const Outcome whole = runReads(data, {size}, caps);

  std::vector<size_t> bounds;
  const size_t cuts = 1 + fuzz::nextRandom(rng) % 3;
  for (size_t i = 0; i < cuts; ++i) bounds.push_back(fuzz::nextRandom(rng) % (size + 1));
  std::sort(bounds.begin(), bounds.end());
  bounds.push_back(size);
  const Outcome pieces = runReads(data, bounds, caps);
  FUZZ_CHECK(pieces == whole, "reads ending at%s: %s\n  one read: %s",
             boundsText(bounds).c_str(), describe(pieces).c_str(), describe(whole).c_str());

  // Not a frame the scanner vouched for: splitArray only has to stay inside the bytes.
  const fuzz::HeapBytes raw(data, size);
  std::vector<std::string_view> elements;
  if (size > 0 && resp::splitArray(raw.view(), elements)) {
    for (std::string_view e : elements) {
      FUZZ_CHECK(fuzz::within(e, raw.data(), raw.data() + raw.size()),
                 "splitArray element outside its input");
    }
  }
  return 0;
}
