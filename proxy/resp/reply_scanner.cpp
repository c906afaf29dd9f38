// ReplyScanner: finds where one RESP2 reply frame ends in a shard's byte stream, plus
// splitArray for fan-out merges. Validates framing only; nothing is decoded or copied.
// Called by: pool::BackendConnection for every read from a shard; fan-out merges; tests.

#include "proxy/resp/reply_scanner.h"

#include <algorithm>
#include <cstring>

#include "proxy/resp/resp_number.h"

namespace resp {
namespace {

// A '$'/'*'/':' line is a type byte and an int64 (at most 20 bytes); anything longer is
// garbage, and rejecting it early keeps a broken shard from making us buffer without end.
constexpr size_t kMaxNumberLine = 32;

}  // namespace

ReplyScanner::ReplyScanner(size_t maxBulkBytes, size_t maxDepth)
    : maxBulk_(maxBulkBytes), maxDepth_(maxDepth) {}

void ReplyScanner::reset() {
  pos_ = 0;
  lineScan_ = 0;
  pending_.clear();
}

ParseResult ReplyScanner::scan(std::string_view buf) {
  size_t pos = pos_;
  // A caller that shrank the buffer broke the contract; never index past its end.
  if (pos > buf.size()) return {ParseStatus::Incomplete, 0};
  for (;;) {
    if (pos == buf.size()) {
      pos_ = pos;
      return {ParseStatus::Incomplete, 0};
    }
    switch (scanElement(buf, pos)) {
      case Step::NeedMore:
        pos_ = pos;  // the element at pos restarts from its (short) header, not its data
        return {ParseStatus::Incomplete, 0};
      case Step::Bad:
        return finish(ParseStatus::Error, 0);
      case Step::Opened:
        continue;
      case Step::Leaf:
        if (closeElement()) return finish(ParseStatus::Complete, pos);
        continue;
    }
  }
}

ParseResult ReplyScanner::finish(ParseStatus status, size_t consumed) {
  reset();
  return {status, consumed};
}

// Counts one finished element against the open arrays; true once the outermost is done.
bool ReplyScanner::closeElement() {
  while (!pending_.empty()) {
    if (--pending_.back() > 0) return false;
    pending_.pop_back();  // that array is now a finished element of its parent
  }
  return true;
}

// One element at pos: a leaf (advances pos past it) or an array header (pushes its count).
ReplyScanner::Step ReplyScanner::scanElement(std::string_view buf, size_t& pos) {
  size_t cr = 0;
  Line line = Line::Found;
  switch (buf[pos]) {
    case '+':
    case '-':
      line = findLine(buf, pos, maxBulk_, cr);
      break;
    case ':': {
      int64_t ignored = 0;
      line = readNumberLine(buf, pos, cr, ignored);
      break;
    }
    case '$':
      return scanBulk(buf, pos);
    case '*':
      return scanArrayHeader(buf, pos);
    default:
      return Step::Bad;  // includes RESP3 types: shards are spoken to in RESP2
  }
  if (line != Line::Found) return line == Line::Bad ? Step::Bad : Step::NeedMore;
  pos = cr + 2;
  return Step::Leaf;
}

ReplyScanner::Step ReplyScanner::scanBulk(std::string_view buf, size_t& pos) {
  size_t cr = 0;
  int64_t len = 0;
  const Line line = readNumberLine(buf, pos, cr, len);
  if (line != Line::Found) return line == Line::Bad ? Step::Bad : Step::NeedMore;
  if (len < -1) return Step::Bad;
  if (len == -1) {
    pos = cr + 2;
    return Step::Leaf;
  }
  if (static_cast<uint64_t>(len) > maxBulk_) return Step::Bad;
  const size_t data = cr + 2;
  const size_t end = data + static_cast<size_t>(len);
  // Only a size check while the payload arrives: resuming costs O(1), not O(len).
  if (buf.size() - data < static_cast<size_t>(len) + 2) return Step::NeedMore;
  if (buf[end] != '\r' || buf[end + 1] != '\n') return Step::Bad;
  pos = end + 2;
  return Step::Leaf;
}

ReplyScanner::Step ReplyScanner::scanArrayHeader(std::string_view buf, size_t& pos) {
  size_t cr = 0;
  int64_t count = 0;
  const Line line = readNumberLine(buf, pos, cr, count);
  if (line != Line::Found) return line == Line::Bad ? Step::Bad : Step::NeedMore;
  if (count < -1) return Step::Bad;
  pos = cr + 2;
  if (count <= 0) return Step::Leaf;  // null or empty array: complete by itself
  if (pending_.size() >= maxDepth_) return Step::Bad;
  pending_.push_back(count);
  return Step::Opened;
}

// The "\r\n" ending the line that starts at `start`. RESP2 lines carry no CR, so the first
// '\r' must be followed by '\n'. Lines longer than maxLen are Bad even before they end.
ReplyScanner::Line ReplyScanner::findLine(std::string_view buf, size_t start, size_t maxLen,
                                          size_t& cr) {
  size_t from = std::max(start, lineScan_);
  if (from > buf.size()) from = start;
  const void* hit = std::memchr(buf.data() + from, '\r', buf.size() - from);
  if (hit == nullptr) {
    lineScan_ = buf.size();  // a long line trickling in is searched once, not per call
    return buf.size() - start - 1 > maxLen ? Line::Bad : Line::NeedMore;
  }
  cr = static_cast<size_t>(static_cast<const char*>(hit) - buf.data());
  lineScan_ = cr;
  if (cr - start - 1 > maxLen) return Line::Bad;  // start holds the type byte, never '\r'
  if (cr + 1 == buf.size()) return Line::NeedMore;
  return buf[cr + 1] == '\n' ? Line::Found : Line::Bad;
}

// "<type><int64>\r\n" at start: the canonical fast path, else the general one.
ReplyScanner::Line ReplyScanner::readNumberLine(std::string_view buf, size_t start, size_t& cr,
                                                int64_t& value) {
  const char* p = buf.data();
  uint64_t canonical = 0;
  const char* q = detail::scanCanonicalNumber(p + start, p + buf.size(), canonical);
  if (q != nullptr && q[1] == '\n') {
    cr = static_cast<size_t>(q - p);
    value = static_cast<int64_t>(canonical);
    return Line::Found;
  }
  const Line line = findLine(buf, start, kMaxNumberLine, cr);
  if (line != Line::Found) return line;
  return detail::parseInt64(p + start + 1, cr - start - 1, value) ? Line::Found : Line::Bad;
}

// Not hot (fan-out merges only); the scanner already proved the frame well formed, so it
// runs here with no size or depth caps. Bytes after the last element are ignored.
bool splitArray(std::string_view frame, std::vector<std::string_view>& elements) {
  elements.clear();
  if (frame.empty() || frame[0] != '*') return false;
  const void* hit = std::memchr(frame.data(), '\r', frame.size());
  if (hit == nullptr) return false;
  const size_t cr = static_cast<size_t>(static_cast<const char*>(hit) - frame.data());
  int64_t count = 0;
  if (!detail::parseInt64(frame.data() + 1, cr - 1, count) || count < 0) return false;
  size_t pos = cr + 2;
  if (pos > frame.size()) return false;
  ReplyScanner scanner(SIZE_MAX, SIZE_MAX);
  for (int64_t i = 0; i < count; ++i) {
    const ParseResult r = scanner.scan(frame.substr(pos));
    if (r.status != ParseStatus::Complete) {
      elements.clear();
      return false;
    }
    elements.push_back(frame.substr(pos, r.consumed));
    pos += r.consumed;
  }
  return true;
}

}  // namespace resp
