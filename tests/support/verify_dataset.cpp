// The migration tests' dataset: loadDataset() and verifyDataset(), plus the helpers
// verify_load.cpp shares (namespace verifydetail); see verify_load.h.
// Called by the migration e2e tests and VerifyLoad's readers.
#include "tests/support/verify_load.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <iterator>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/text.h"

namespace testsupport {

namespace verifydetail {

void addSample(std::vector<std::string>& v, std::string s) {
  if (v.size() < kMaxSamples) v.push_back(std::move(s));
}

std::string joinCommand(const std::vector<std::string>& cmd) {
  std::string out;
  for (const auto& a : cmd) {
    if (!out.empty()) out += ' ';
    out.append(a, 0, 40);
  }
  return out;
}

Reply sortedPairs(Reply r) {
  if (r.type != ReplyType::Array || r.elements.size() % 2 != 0) return r;
  auto& e = r.elements;
  std::vector<std::pair<Reply, Reply>> pairs;
  for (size_t k = 0; k < e.size(); k += 2) pairs.emplace_back(e[k], e[k + 1]);
  std::sort(pairs.begin(), pairs.end(),
            [](const auto& a, const auto& b) { return a.first.str < b.first.str; });
  e.clear();
  for (auto& [f, v] : pairs) {
    e.push_back(std::move(f));
    e.push_back(std::move(v));
  }
  return r;
}

}  // namespace verifydetail

namespace {

using Command = std::vector<std::string>;
using verifydetail::addSample;
using verifydetail::joinCommand;
constexpr size_t kSamples = verifydetail::kMaxSamples;
// TTL checks allow this much beyond the elapsed time (ms rounding, a slow CI machine).
constexpr long long kTtlSlackMs = 2000;

// The proxy could not get an answer from the shard: it did not reply within
// backend.timeout_ms, or (for the ~100 ms the proxy then waits before reconnecting) the
// connection that timed out is down. Says nothing about the key's value.
bool shardNotReached(const Reply& r) {
  if (r.type != ReplyType::Error || !r.str.starts_with("ERR ringproxy: shard '")) return false;
  return r.str.ends_with("' timed out") || r.str.ends_with("' is unavailable");
}
// Pauses before each new read of those keys: past the proxy's reconnect delay, then
// longer, for a stall that lasts.
constexpr std::chrono::milliseconds kRereadPauses[] = {std::chrono::milliseconds(300),
                                                       std::chrono::milliseconds(1000),
                                                       std::chrono::milliseconds(3000)};

enum Kind : size_t { kString, kHash, kList, kSet, kZset, kStream, kKinds };
const char* const kKindNames[] = {"str", "hash", "list", "set", "zset", "stream"};

size_t kindOf(size_t i) { return i % kKinds; }
// Variant 3: hash-tagged, 7: TTL. Taken from i / kKinds so every kind gets both.
size_t variantOf(size_t i) { return (i / kKinds) % 10; }
std::string item(size_t i, char c) { return cat(i, c); }

// Missing on every type: GET gives nil, the collection reads give an empty array.
bool looksMissing(const Reply& r) {
  return r.isNil() || (r.type == ReplyType::Array && r.elements.empty());
}

// Order-free replies (SMEMBERS, HGETALL) sorted so they compare exactly.
Reply normalized(size_t kind, Reply r) {
  if (kind == kHash) return verifydetail::sortedPairs(std::move(r));
  if (kind == kSet && r.type == ReplyType::Array) {
    std::sort(r.elements.begin(), r.elements.end(),
              [](const Reply& a, const Reply& b) { return a.str < b.str; });
  }
  return r;
}

struct Step {
  Command cmd;
  Reply expected;
};

std::vector<Step> loadSteps(const Dataset& ds, size_t i) {
  const std::string k = ds.key(i);
  const std::string a = item(i, 'a'), b = item(i, 'b'), c = item(i, 'c');
  const std::string ttl = std::to_string(ds.options.ttlMs);
  std::vector<Step> out;
  switch (kindOf(i)) {
    case kString:
      out.push_back({{"SET", k, cat("value-", i)}, status("OK")});
      if (ds.hasTtl(i)) out.back().cmd.insert(out.back().cmd.end(), {"PX", ttl});
      return out;
    case kHash: out.push_back({{"HSET", k, "f0", a, "f1", b, "f2", c}, integer(3)}); break;
    case kList: out.push_back({{"RPUSH", k, a, b, c}, integer(3)}); break;
    case kSet: out.push_back({{"SADD", k, a, b, c}, integer(3)}); break;
    case kZset: out.push_back({{"ZADD", k, "1", a, "2", b, "3", c}, integer(3)}); break;
    default:
      out.push_back({{"XADD", k, "1-1", "f", a}, bulk("1-1")});
      out.push_back({{"XADD", k, "2-1", "f", b}, bulk("2-1")});
  }
  if (ds.hasTtl(i)) out.push_back({{"PEXPIRE", k, ttl}, integer(1)});
  return out;
}

Reply expectedRead(size_t i) {
  const std::string a = item(i, 'a'), b = item(i, 'b'), c = item(i, 'c');
  switch (kindOf(i)) {
    case kString: return bulk(cat("value-", i));
    case kHash: return array({bulk("f0"), bulk(a), bulk("f1"), bulk(b), bulk("f2"), bulk(c)});
    case kList:
    case kSet: return array({bulk(a), bulk(b), bulk(c)});
    case kZset: return array({bulk(a), bulk("1"), bulk(b), bulk("2"), bulk(c), bulk("3")});
    default:
      return array({array({bulk("1-1"), array({bulk("f"), bulk(a)})}),
                    array({bulk("2-1"), array({bulk("f"), bulk(b)})})});
  }
}

// Sends the commands of items [begin, end) in rounds of about `depth` commands: append
// a round, then read its replies in order and hand each item its own.
void pipelineItems(Client& client, size_t begin, size_t end, size_t depth,
                   const std::function<void(size_t, std::vector<Command>&)>& build,
                   const std::function<void(size_t, const std::vector<Reply>&)>& check) {
  std::vector<std::pair<size_t, size_t>> round;  // item, its command count
  std::vector<Command> cmds;
  std::vector<Reply> replies;
  for (size_t i = begin; i < end;) {
    round.clear();
    for (size_t sent = 0; i < end && sent < depth; ++i) {
      cmds.clear();
      build(i, cmds);
      for (const auto& c : cmds) client.append(c);
      round.emplace_back(i, cmds.size());
      sent += cmds.size();
    }
    for (auto [at, count] : round) {
      replies.clear();
      for (size_t k = 0; k < count; ++k) replies.push_back(client.getReply());
      check(at, replies);
    }
  }
}

// Runs fn(client, begin, end) over `connections` slices of [0, n) in parallel; slice 0
// on `client`, the others on new connections to its port. Rethrows the first exception.
void forEachSlice(Client& client, size_t n, size_t connections,
                  const std::function<void(Client&, size_t, size_t)>& fn) {
  connections = std::max<size_t>(1, connections);
  const size_t per = (n + connections - 1) / connections;
  std::vector<std::future<void>> others;
  for (size_t s = 1; s < connections; ++s) {
    others.push_back(std::async(std::launch::async, [&, s] {
      Client c(client.port(), std::chrono::milliseconds(30000));
      fn(c, std::min(n, s * per), std::min(n, (s + 1) * per));
    }));
  }
  std::exception_ptr first;
  try {
    fn(client, 0, std::min(n, per));
  } catch (...) {
    first = std::current_exception();
  }
  for (auto& f : others) {
    try {
      f.get();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace

std::string Dataset::key(size_t i) const {
  const char* kind = kKindNames[kindOf(i)];
  if (variantOf(i) == 3) return cat(options.prefix, "{g", i % 997, "}:", kind, ":", i);
  return cat(options.prefix, kind, ":", i);
}

std::vector<std::string> Dataset::keys() const {
  std::vector<std::string> out;
  out.reserve(size);
  for (size_t i = 0; i < size; ++i) out.push_back(key(i));
  return out;
}

bool Dataset::hasTtl(size_t i) const { return variantOf(i) == 7; }

std::vector<std::string> Dataset::readCommand(size_t i) const {
  const std::string k = key(i);
  switch (kindOf(i)) {
    case kString: return {"GET", k};
    case kHash: return {"HGETALL", k};
    case kList: return {"LRANGE", k, "0", "-1"};
    case kSet: return {"SMEMBERS", k};
    case kZset: return {"ZRANGE", k, "0", "-1", "WITHSCORES"};
    default: return {"XRANGE", k, "-", "+"};
  }
}

std::string Dataset::checkRead(size_t i, const Reply& reply) const {
  const Reply expected = expectedRead(i);
  const Reply got = normalized(kindOf(i), reply);
  if (got == expected) return "";
  return cat("key '", key(i), "'", looksMissing(got) ? " MISSING" : "", ": expected ",
             expected.describe(), ", got ", got.describe());
}

Dataset loadDataset(Client& client, size_t n, DatasetOptions options) {
  Dataset ds;
  ds.options = std::move(options);
  ds.size = n;
  ds.loadStarted = std::chrono::steady_clock::now();
  auto unexpected = [](const Step& step, const Reply& got) {
    return std::runtime_error(cat("loadDataset: ", joinCommand(step.cmd), " -> ", got.describe(),
                                  " (expected ", step.expected.describe(), ")"));
  };
  std::mutex mu;
  std::vector<size_t> notReached;
  forEachSlice(client, n, ds.options.connections, [&](Client& c, size_t begin, size_t end) {
    std::vector<Step> steps;
    pipelineItems(
        c, begin, end, ds.options.pipelineDepth,
        [&](size_t i, std::vector<Command>& out) {
          for (auto& s : loadSteps(ds, i)) out.push_back(std::move(s.cmd));
        },
        [&](size_t i, const std::vector<Reply>& replies) {
          steps = loadSteps(ds, i);
          for (size_t k = 0; k < replies.size(); ++k) {
            if (replies[k] == steps[k].expected) continue;
            if (!shardNotReached(replies[k])) throw unexpected(steps[k], replies[k]);
            std::lock_guard lock(mu);
            notReached.push_back(i);
            return;
          }
        });
  });
  // A key the proxy timed out on (see verifyDataset) may or may not have been written:
  // write it again from scratch (DEL first, so a list is not pushed twice), alone, with
  // the same pauses. Any other unexpected reply still fails the load.
  ds.rewritten = notReached.size();
  for (size_t attempt = 0; !notReached.empty(); ++attempt) {
    std::this_thread::sleep_for(kRereadPauses[attempt]);
    std::vector<size_t> still;
    const bool last = attempt + 1 == std::size(kRereadPauses);
    for (size_t i : notReached) {
      std::vector<Step> steps = loadSteps(ds, i);
      const Reply deleted = client.cmd({"DEL", ds.key(i)});
      if (shardNotReached(deleted) && !last) {
        still.push_back(i);
        continue;
      }
      if (deleted.type != ReplyType::Integer) throw unexpected({{"DEL", ds.key(i)}, integer(1)}, deleted);
      for (const Step& step : steps) {
        const Reply got = client.cmd(step.cmd);
        if (got == step.expected) continue;
        if (!shardNotReached(got) || last) throw unexpected(step, got);
        still.push_back(i);
        break;
      }
    }
    notReached = std::move(still);
  }
  ds.loadFinished = std::chrono::steady_clock::now();
  return ds;
}

std::string DatasetReport::describe() const {
  std::string out = cat("dataset: ", checked, " keys checked, ", missing, " missing, ",
                        wrongValue, " wrong values, ", wrongTtl, " wrong TTLs, ", misplaced,
                        " misplaced");
  if (reread > 0) out += cat(" (", reread, " read again: the proxy timed out on the first read)");
  for (const auto& s : samples) out += "\n  " + s;
  return out;
}

namespace {

// The PTTL a key must have now: -1 without TTL, else within (ttl - elapsed since the
// load began - slack, ttl]; a migration must neither drop, add nor extend a TTL.
std::string checkTtl(const Dataset& ds, size_t i, const Reply& pttl) {
  if (!ds.hasTtl(i)) {
    return pttl.isInteger(-1) ? "" : cat("key '", ds.key(i), "': PTTL ", pttl.describe(),
                                         ", expected -1 (no TTL)");
  }
  const long long floor = ds.options.ttlMs - elapsedMs(ds.loadStarted) - kTtlSlackMs;
  if (pttl.type == ReplyType::Integer && pttl.integer > 0 && pttl.integer <= ds.options.ttlMs &&
      pttl.integer >= floor) {
    return "";
  }
  return cat("key '", ds.key(i), "': PTTL ", pttl.describe(), ", expected in [", floor, ", ",
             ds.options.ttlMs, "]");
}

}  // namespace

DatasetReport verifyDataset(Client& client, const Dataset& ds,
                            const std::vector<uint16_t>& shardPorts,
                            const routing::HashRing& ring) {
  // Placement runs beside the reads: different connections (straight to the shards).
  auto placement = std::async(std::launch::async, [&] {
    return checkPlacement(shardPorts, ring, ds.keys(), kSamples);
  });
  DatasetReport report;
  std::mutex mu;
  std::vector<size_t> notReached;
  auto tally = [&](size_t i, const Reply& read, const Reply& pttl) {
    std::string value = ds.checkRead(i, read);
    std::string ttl = value.empty() ? checkTtl(ds, i, pttl) : "";
    std::lock_guard lock(mu);
    ++report.checked;
    if (value.empty() && ttl.empty()) return;
    if (!value.empty()) ++(looksMissing(read) ? report.missing : report.wrongValue);
    if (!ttl.empty()) ++report.wrongTtl;
    addSample(report.samples, value.empty() ? ttl : value);
  };
  forEachSlice(client, ds.size, ds.options.connections, [&](Client& c, size_t begin, size_t end) {
    pipelineItems(
        c, begin, end, ds.options.pipelineDepth,
        [&](size_t i, std::vector<Command>& out) {
          out.push_back(ds.readCommand(i));
          out.push_back({"PTTL", ds.key(i)});
        },
        [&](size_t i, const std::vector<Reply>& replies) {
          if (shardNotReached(replies[0]) || shardNotReached(replies[1])) {
            std::lock_guard lock(mu);
            notReached.push_back(i);
            return;
          }
          tally(i, replies[0], replies[1]);
        });
  });
  // A key whose read hit the proxy's backend timeout (1 s in the tests: a sanitizer build
  // on a busy 2-core machine can stall a shard or the proxy that long) has not been checked
  // yet: read it again, alone, a few times. The value and TTL checks are the same; a key
  // the proxy still cannot read counts as a wrong value.
  report.reread = notReached.size();
  std::vector<std::pair<Reply, Reply>> reads(notReached.size());  // value, PTTL
  std::vector<size_t> pending(notReached.size());
  for (size_t k = 0; k < pending.size(); ++k) pending[k] = k;
  for (size_t attempt = 0; attempt < std::size(kRereadPauses) && !pending.empty(); ++attempt) {
    std::this_thread::sleep_for(kRereadPauses[attempt]);
    std::vector<size_t> still;
    for (size_t k : pending) {
      const size_t i = notReached[k];
      reads[k] = {client.cmd(ds.readCommand(i)), client.cmd({"PTTL", ds.key(i)})};
      if (shardNotReached(reads[k].first) || shardNotReached(reads[k].second)) still.push_back(k);
    }
    pending = std::move(still);
  }
  for (size_t k = 0; k < notReached.size(); ++k) tally(notReached[k], reads[k].first, reads[k].second);
  std::vector<std::string> misplaced = placement.get();
  if (!misplaced.empty()) {
    report.misplaced = std::stoul(misplaced.back());  // "<n> of <m> keys misplaced"
    report.samples.insert(report.samples.end(), misplaced.begin(), misplaced.end());
  }
  return report;
}

}  // namespace testsupport
