// Fanout merges. Shard replies are scanned into element spans and copied, not rebuilt.
#include "proxy/server/fanout.h"

#include <algorithm>
#include <charconv>

#include "proxy/errors.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/resp_writer.h"
#include "proxy/server/info_reply.h"

namespace proxy {

namespace {
bool parseInteger(std::string_view frame, int64_t& out) {
  if (frame.size() < 4 || frame[0] != ':') return false;
  const char* end = frame.data() + frame.size() - 2;
  return std::from_chars(frame.data() + 1, end, out).ec == std::errc();
}

std::string errorFrame(std::string_view text) {
  std::string f;
  resp::appendError(f, text);
  return f;
}
}  // namespace

std::string backendErrorText(std::string_view shard, pool::BackendError error) {
  switch (error) {
    case pool::BackendError::Timeout: return errors::backendTimeout(shard);
    case pool::BackendError::Overloaded: return errors::backendOverloaded(shard);
    case pool::BackendError::Protocol: return errors::backendProtocol(shard);
    case pool::BackendError::Closed: return errors::backendClosed(shard);
    case pool::BackendError::Unavailable: break;
  }
  return errors::backendUnavailable(shard);
}

Fanout::Fanout(FanoutTarget& target, uint64_t seq, Merge merge)
    : target_(target), seq_(seq), merge_(merge) {}

void Fanout::failPart(size_t i, std::string frame) {
  parts_[i].failed = true;
  parts_[i].reply = std::move(frame);
}

void Fanout::sealed() {
  sealed_ = true;
  for (const FanoutPart& p : parts_) {
    if (!p.failed && p.reply.empty()) ++outstanding_;
  }
  if (outstanding_ == 0) {
    target_.completeFanout(seq_, merge());
    delete this;
  }
}

void Fanout::onReply(uint64_t part, std::string_view frame) {
  FanoutPart& p = parts_[part];
  p.reply.assign(frame.data(), frame.size());
  p.failed = !frame.empty() && frame[0] == '-';
  partDone();
}

void Fanout::onError(uint64_t part, pool::BackendError error) {
  FanoutPart& p = parts_[part];
  failPart(part, errorFrame(backendErrorText(p.shardName, error)));
  partDone();
}

void Fanout::partDone() {
  if (!sealed_ || --outstanding_ > 0) return;
  target_.completeFanout(seq_, merge());
  delete this;
}

const FanoutPart* Fanout::firstFailure() const {
  for (const FanoutPart& p : parts_) {
    if (p.failed) return &p;
  }
  return nullptr;
}

// A failed shard fails the whole command: a Redis client cannot tell a per-key error
// inside an MGET reply from a value, and a nil would claim the key is missing.
std::string Fanout::merge() const {
  if (const FanoutPart* f = firstFailure()) return f->reply;
  switch (merge_) {
    case Merge::ArrayInOrder: return mergeArrayInOrder();
    case Merge::SumIntegers: return mergeSum();
    case Merge::AllOk: return "+OK\r\n";
    case Merge::SameReply: return parts_.empty() ? std::string("+OK\r\n") : parts_.front().reply;
    case Merge::ArrayConcat: return mergeConcat();
    case Merge::ArrayAnd: return mergeAnd();
    case Merge::AnyNonNil: return mergeAnyNonNil();
    case Merge::Scan: return mergeScan();
    case Merge::PairSum: return mergePairSum();
    case Merge::MaxInteger: return mergeMax();
    case Merge::InfoKeyspace: return mergeInfoKeyspace();
  }
  return errorFrame("ERR internal: unknown merge");
}

std::string Fanout::mergeArrayInOrder() const {
  std::vector<std::vector<std::string_view>> elements(parts_.size());
  size_t bytes = 16;
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (!resp::splitArray(parts_[i].reply, elements[i])) {
      return errorFrame(errors::backendProtocol(parts_[i].shardName));
    }
    bytes += parts_[i].reply.size();
  }
  std::string out;
  out.reserve(bytes);
  resp::appendArrayHeader(out, order_.size());
  for (const auto& [part, index] : order_) {
    if (index >= elements[part].size()) return errorFrame(errors::backendProtocol(parts_[part].shardName));
    out.append(elements[part][index]);
  }
  return out;
}

std::string Fanout::mergeSum() const {
  int64_t total = 0;
  for (const FanoutPart& p : parts_) {
    int64_t v = 0;
    if (!parseInteger(p.reply, v)) return errorFrame(errors::backendProtocol(p.shardName));
    total += v;
  }
  std::string out;
  resp::appendInteger(out, total);
  return out;
}

std::string Fanout::mergeConcat() const {
  std::vector<std::string_view> all;
  std::vector<std::string_view> one;
  for (const FanoutPart& p : parts_) {
    if (!resp::splitArray(p.reply, one)) return errorFrame(errors::backendProtocol(p.shardName));
    all.insert(all.end(), one.begin(), one.end());
  }
  std::string out;
  resp::appendArrayHeader(out, all.size());
  for (std::string_view e : all) out.append(e);
  return out;
}

std::string Fanout::mergeAnd() const {
  std::vector<int64_t> result;
  std::vector<std::string_view> one;
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (!resp::splitArray(parts_[i].reply, one)) return errorFrame(errors::backendProtocol(parts_[i].shardName));
    if (i == 0) result.assign(one.size(), 1);
    if (one.size() != result.size()) return errorFrame(errors::backendProtocol(parts_[i].shardName));
    for (size_t k = 0; k < one.size(); ++k) {
      int64_t v = 0;
      if (!parseInteger(one[k], v) || v == 0) result[k] = 0;
    }
  }
  std::string out;
  resp::appendArrayHeader(out, result.size());
  for (int64_t v : result) resp::appendInteger(out, v);
  return out;
}

std::string Fanout::mergeAnyNonNil() const {
  for (size_t i = 0; i < parts_.size(); ++i) {
    const FanoutPart& p = parts_[(start_ + i) % parts_.size()];
    if (p.reply != "$-1\r\n") return p.reply;
  }
  return "$-1\r\n";
}

// A shard's SCAN reply is [cursor, keys]. Its cursor 0 means that shard is done: the
// client's next cursor points at the next shard, or is 0 after the last one.
std::string Fanout::mergeScan() const {
  const FanoutPart& p = parts_.front();
  std::vector<std::string_view> parts;
  uint64_t cursor = 0;
  if (!resp::splitArray(p.reply, parts) || parts.size() != 2 || parts[0].size() < 4 ||
      parts[0][0] != '$') {
    return errorFrame(errors::backendProtocol(p.shardName));
  }
  const size_t digits = parts[0].find("\r\n") + 2;
  const std::string_view value = parts[0].substr(digits, parts[0].size() - digits - 2);
  if (std::from_chars(value.data(), value.data() + value.size(), cursor).ec != std::errc()) {
    return errorFrame(errors::backendProtocol(p.shardName));
  }
  uint64_t next = 0;
  if (cursor != 0) {
    next = (cursor << kScanShardBits) | scanShard_;
  } else if (scanShard_ + 1 < scanShards_) {
    next = scanShard_ + 1;
  }
  std::string out = "*2\r\n";
  resp::appendBulk(out, std::to_string(next));
  out.append(parts[1]);
  return out;
}

std::string Fanout::mergePairSum() const {
  std::vector<std::string_view> first;
  std::vector<std::string_view> one;
  std::vector<int64_t> sums;
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (!resp::splitArray(parts_[i].reply, one) || one.size() % 2 != 0) {
      return errorFrame(errors::backendProtocol(parts_[i].shardName));
    }
    if (i == 0) {
      first = one;
      sums.assign(one.size() / 2, 0);
    }
    if (one.size() != first.size()) return errorFrame(errors::backendProtocol(parts_[i].shardName));
    for (size_t k = 0; k < sums.size(); ++k) {
      int64_t v = 0;
      if (parseInteger(one[2 * k + 1], v)) sums[k] += v;
    }
  }
  std::string out;
  resp::appendArrayHeader(out, first.size());
  for (size_t k = 0; k < sums.size(); ++k) {
    out.append(first[2 * k]);
    resp::appendInteger(out, sums[k]);
  }
  return out;
}

std::string Fanout::mergeMax() const {
  int64_t best = 0;
  for (const FanoutPart& p : parts_) {
    int64_t v = 0;
    if (!parseInteger(p.reply, v)) return errorFrame(errors::backendProtocol(p.shardName));
    best = std::max(best, v);
  }
  std::string out;
  resp::appendInteger(out, best);
  return out;
}

namespace {
// The value of `field=` in a "db0:keys=1,expires=0,avg_ttl=0" line; 0 when absent.
uint64_t infoField(std::string_view line, std::string_view field) {
  const size_t at = line.find(field);
  if (at == std::string_view::npos) return 0;
  uint64_t v = 0;
  const char* begin = line.data() + at + field.size();
  std::from_chars(begin, line.data() + line.size(), v);
  return v;
}
}  // namespace

std::string Fanout::mergeInfoKeyspace() const {
  KeyspaceTotals totals;
  uint64_t ttlWeighted = 0;
  for (const FanoutPart& p : parts_) {
    const size_t at = p.reply.find("db0:");
    if (at == std::string::npos) continue;
    const std::string_view line(p.reply.data() + at, p.reply.find("\r\n", at) - at);
    const uint64_t expires = infoField(line, "expires=");
    totals.keys += infoField(line, "keys=");
    totals.expires += expires;
    ttlWeighted += infoField(line, "avg_ttl=") * expires;
  }
  if (totals.expires > 0) totals.avgTtl = ttlWeighted / totals.expires;
  std::string text = prefix_;
  appendKeyspaceSection(text, totals);
  std::string out;
  resp::appendBulk(out, text);
  return out;
}

}  // namespace proxy
