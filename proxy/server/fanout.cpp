// Fanout merges and the per-worker pool. Shard replies are scanned into element spans and
// copied, not rebuilt; every buffer is reused across requests.
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

void protocolError(std::string& out, const FanoutPart& p) {
  out.clear();
  resp::appendError(out, errors::backendProtocol(*p.shardName));
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

Fanout* FanoutPool::acquire(FanoutTarget& target, uint64_t seq, Merge merge) {
  std::unique_ptr<Fanout> f;
  if (idle_.empty()) {
    f = std::make_unique<Fanout>(*this);
  } else {
    f = std::move(idle_.back());
    idle_.pop_back();
  }
  f->reset(target, seq, merge);
  return f.release();
}

void FanoutPool::release(Fanout* fanout) {
  std::unique_ptr<Fanout> owned(fanout);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(owned));
}

void Fanout::reset(FanoutTarget& target, uint64_t seq, Merge merge) {
  target_ = &target;
  seq_ = seq;
  merge_ = merge;
  used_ = 0;
  order_.clear();
  cachedBytes_.clear();
  cached_.clear();
  outstanding_ = 0;
  sealed_ = false;
  scanShard_ = 0;
  scanShards_ = 1;
  start_ = 0;
  prefix_.clear();
}

FanoutPart& Fanout::addPart(uint32_t shard, const std::string& shardName) {
  if (used_ == parts_.size()) parts_.emplace_back();
  FanoutPart& p = parts_[used_++];
  p.shard = shard;
  p.shardName = &shardName;
  p.command.clear();
  p.reply.clear();
  p.failed = false;
  return p;
}

void Fanout::failPart(size_t i, std::string frame) {
  parts_[i].failed = true;
  parts_[i].reply = std::move(frame);
}

void Fanout::sealed() {
  sealed_ = true;
  for (size_t i = 0; i < used_; ++i) {
    if (!parts_[i].failed && parts_[i].reply.empty()) ++outstanding_;
  }
  if (outstanding_ == 0) finish();
}

void Fanout::onReply(uint64_t part, std::string_view frame) {
  FanoutPart& p = parts_[part];
  p.reply.assign(frame.data(), frame.size());
  p.failed = !frame.empty() && frame[0] == '-';
  if (sealed_ && --outstanding_ == 0) finish();
}

void Fanout::onError(uint64_t part, pool::BackendError error) {
  FanoutPart& p = parts_[part];
  p.failed = true;
  p.reply.clear();
  resp::appendError(p.reply, backendErrorText(*p.shardName, error));
  if (sealed_ && --outstanding_ == 0) finish();
}

void Fanout::finish() {
  result_.clear();
  merge(result_);
  target_->completeFanout(seq_, result_);
  pool_.release(this);
}

const FanoutPart* Fanout::firstFailure() const {
  for (size_t i = 0; i < used_; ++i) {
    if (parts_[i].failed) return &parts_[i];
  }
  return nullptr;
}

// A failed shard fails the whole command: a Redis client cannot tell a per-key error
// inside an MGET reply from a value, and a nil would claim the key is missing.
void Fanout::merge(std::string& out) {
  if (const FanoutPart* f = firstFailure()) return void(out.append(f->reply));
  switch (merge_) {
    case Merge::ArrayInOrder: return mergeArrayInOrder(out);
    case Merge::SumIntegers: return mergeSum(out);
    case Merge::AllOk: return void(out.append("+OK\r\n"));
    case Merge::SameReply: return void(out.append(used_ > 0 ? std::string_view(parts_[0].reply) : "+OK\r\n"));
    case Merge::ArrayConcat: return mergeConcat(out);
    case Merge::ArrayAnd: return mergeAnd(out);
    case Merge::AnyNonNil: return mergeAnyNonNil(out);
    case Merge::Scan: return mergeScan(out);
    case Merge::PairSum: return mergePairSum(out);
    case Merge::MaxInteger: return mergeMax(out);
    case Merge::InfoKeyspace: return mergeInfoKeyspace(out);
  }
}

void Fanout::mergeArrayInOrder(std::string& out) {
  if (elements_.size() < used_) elements_.resize(used_);
  size_t bytes = 16;
  for (size_t i = 0; i < used_; ++i) {
    if (!resp::splitArray(parts_[i].reply, elements_[i])) return protocolError(out, parts_[i]);
    bytes += parts_[i].reply.size();
  }
  out.reserve(bytes);
  resp::appendArrayHeader(out, order_.size());
  for (const auto& [part, index] : order_) {
    if (part == kCachedPart) {
      out.append(cachedBytes_, cached_[index].first, cached_[index].second);
      continue;
    }
    if (index >= elements_[part].size()) return protocolError(out, parts_[part]);
    out.append(elements_[part][index]);
  }
}

void Fanout::addCached(std::string_view elementFrame) {
  order_.emplace_back(kCachedPart, static_cast<uint32_t>(cached_.size()));
  cached_.emplace_back(cachedBytes_.size(), elementFrame.size());
  cachedBytes_.append(elementFrame);
}

void Fanout::mergeSum(std::string& out) const {
  int64_t total = 0;
  for (size_t i = 0; i < used_; ++i) {
    int64_t v = 0;
    if (!parseInteger(parts_[i].reply, v)) return protocolError(out, parts_[i]);
    if (__builtin_add_overflow(total, v, &total)) return protocolError(out, parts_[i]);  // no real count
  }
  resp::appendInteger(out, total);
}

void Fanout::mergeConcat(std::string& out) {
  if (elements_.size() < used_) elements_.resize(used_);
  size_t n = 0;
  for (size_t i = 0; i < used_; ++i) {
    if (!resp::splitArray(parts_[i].reply, elements_[i])) return protocolError(out, parts_[i]);
    n += elements_[i].size();
  }
  resp::appendArrayHeader(out, n);
  for (size_t i = 0; i < used_; ++i) {
    for (std::string_view e : elements_[i]) out.append(e);
  }
}

void Fanout::mergeAnd(std::string& out) {
  std::vector<int64_t> result;
  std::vector<std::string_view> one;
  for (size_t i = 0; i < used_; ++i) {
    if (!resp::splitArray(parts_[i].reply, one)) return protocolError(out, parts_[i]);
    if (i == 0) result.assign(one.size(), 1);
    if (one.size() != result.size()) return protocolError(out, parts_[i]);
    for (size_t k = 0; k < one.size(); ++k) {
      int64_t v = 0;
      if (!parseInteger(one[k], v) || v == 0) result[k] = 0;
    }
  }
  resp::appendArrayHeader(out, result.size());
  for (int64_t v : result) resp::appendInteger(out, v);
}

void Fanout::mergeAnyNonNil(std::string& out) const {
  for (size_t i = 0; i < used_; ++i) {
    const FanoutPart& p = parts_[(start_ + i) % used_];
    if (p.reply != "$-1\r\n") return void(out.append(p.reply));
  }
  out.append("$-1\r\n");
}

// A shard's SCAN reply is [cursor, keys]. Its cursor 0 means that shard is done: the
// client's next cursor points at the next shard, or is 0 after the last one.
void Fanout::mergeScan(std::string& out) {
  const FanoutPart& p = parts_[0];
  std::vector<std::string_view> two;
  uint64_t cursor = 0;
  if (!resp::splitArray(p.reply, two) || two.size() != 2 || two[0].size() < 4 || two[0][0] != '$') {
    return protocolError(out, p);
  }
  const size_t digits = two[0].find("\r\n") + 2;
  const std::string_view value = two[0].substr(digits, two[0].size() - digits - 2);
  if (std::from_chars(value.data(), value.data() + value.size(), cursor).ec != std::errc()) {
    return protocolError(out, p);
  }
  uint64_t next = 0;
  if (cursor != 0) {
    next = (cursor << kScanShardBits) | scanShard_;
  } else if (scanShard_ + 1 < scanShards_) {
    next = scanShard_ + 1;
  }
  out.append("*2\r\n");
  resp::appendBulk(out, std::to_string(next));
  out.append(two[1]);
}

void Fanout::mergePairSum(std::string& out) {
  std::vector<std::string_view> first;
  std::vector<std::string_view> one;
  std::vector<int64_t> sums;
  for (size_t i = 0; i < used_; ++i) {
    if (!resp::splitArray(parts_[i].reply, one) || one.size() % 2 != 0) return protocolError(out, parts_[i]);
    if (i == 0) {
      first = one;
      sums.assign(one.size() / 2, 0);
    }
    if (one.size() != first.size()) return protocolError(out, parts_[i]);
    for (size_t k = 0; k < sums.size(); ++k) {
      int64_t v = 0;
      if (parseInteger(one[2 * k + 1], v)) sums[k] += v;
    }
  }
  resp::appendArrayHeader(out, first.size());
  for (size_t k = 0; k < sums.size(); ++k) {
    out.append(first[2 * k]);
    resp::appendInteger(out, sums[k]);
  }
}

void Fanout::mergeMax(std::string& out) const {
  int64_t best = 0;
  for (size_t i = 0; i < used_; ++i) {
    int64_t v = 0;
    if (!parseInteger(parts_[i].reply, v)) return protocolError(out, parts_[i]);
    best = std::max(best, v);
  }
  resp::appendInteger(out, best);
}

namespace {
// The value of `field=` in a "db0:keys=1,expires=0,avg_ttl=0" line; 0 when absent.
uint64_t infoField(std::string_view line, std::string_view field) {
  const size_t at = line.find(field);
  if (at == std::string_view::npos) return 0;
  uint64_t v = 0;
  std::from_chars(line.data() + at + field.size(), line.data() + line.size(), v);
  return v;
}
}  // namespace

void Fanout::mergeInfoKeyspace(std::string& out) const {
  KeyspaceTotals totals;
  uint64_t ttlWeighted = 0;
  for (size_t i = 0; i < used_; ++i) {
    const std::string& reply = parts_[i].reply;
    const size_t at = reply.find("db0:");
    if (at == std::string::npos) continue;
    const std::string_view line(reply.data() + at, reply.find("\r\n", at) - at);
    const uint64_t expires = infoField(line, "expires=");
    totals.keys += infoField(line, "keys=");
    totals.expires += expires;
    ttlWeighted += infoField(line, "avg_ttl=") * expires;
  }
  if (totals.expires > 0) totals.avgTtl = ttlWeighted / totals.expires;
  std::string text = prefix_;
  appendKeyspaceSection(text, totals);
  resp::appendBulk(out, text);
}

}  // namespace proxy
