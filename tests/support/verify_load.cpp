// VerifyLoad: writer threads checking read-your-writes on their own keys and reader
// threads checking the dataset's static keys while keys move; see verify_load.h.
// Called by the migration e2e tests.
#include "tests/support/verify_load.h"

#include <algorithm>
#include <map>
#include <optional>

#include "tests/support/net.h"
#include "tests/support/text.h"

namespace testsupport {

struct VerifyLoad::ThreadState {
  std::atomic<uint64_t> ops{0};
  uint64_t errors = 0;
  uint64_t wrongReads = 0;
  std::vector<std::string> errorSamples, wrongSamples, persistentKeys;
  std::vector<uint32_t> latenciesUs;
};

namespace {

using Command = std::vector<std::string>;
using verifydetail::addSample;
using verifydetail::joinCommand;

// One connection with the accounting every load thread shares: latency, errors (error
// replies, I/O errors, reconnecting after them) and wrong replies.
class LoadConnection {
 public:
  LoadConnection(VerifyLoad::ThreadState& st, uint16_t port, std::chrono::milliseconds timeout)
      : st_(st), port_(port), timeout_(timeout) {}

  // One request; nullopt (counted) when it failed with an error reply or on I/O.
  std::optional<Reply> request(const Command& cmd) {
    if (!connected()) return std::nullopt;
    const auto t0 = std::chrono::steady_clock::now();
    Reply r = client_->cmd(cmd);
    record(t0);
    if (!r.isError()) return r;
    fail(cat(joinCommand(cmd), " -> ", r.describe()));
    if (r.type == ReplyType::IoError) client_.reset();  // reconnect on the next request
    return std::nullopt;
  }
  // A request whose reply must equal `expected`; a different one is a wrong read.
  bool expect(const Command& cmd, const Reply& expected) {
    auto r = request(cmd);
    if (!r) return false;
    if (*r == expected) return true;
    wrong(cat(joinCommand(cmd), ": expected ", expected.describe(), ", got ", r->describe()));
    return false;
  }
  void wrong(std::string what) {
    ++st_.wrongReads;
    addSample(st_.wrongSamples, std::move(what));
  }
  void fail(std::string what) {
    ++st_.errors;
    addSample(st_.errorSamples, std::move(what));
  }
  // One round trip of `requests` pipelined requests: one latency sample.
  void record(std::chrono::steady_clock::time_point t0, uint64_t requests = 1) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - t0);
    st_.latenciesUs.push_back(static_cast<uint32_t>(us.count()));
    st_.ops.fetch_add(requests, std::memory_order_relaxed);
  }
  Client* client() { return connected() ? &*client_ : nullptr; }
  void drop() { client_.reset(); }

 private:
  bool connected() {
    if (client_) return true;
    try {
      client_.emplace(port_, timeout_);
      return true;
    } catch (const std::exception& e) {
      fail(cat("connect: ", e.what()));
      return false;
    }
  }

  VerifyLoad::ThreadState& st_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  std::optional<Client> client_;
};

enum WriterKind : size_t { wString, wStringPx, wHash, wList, wSet, wZset, wKinds };
const char* const kWriterKindNames[] = {"str", "strpx", "hash", "list", "set", "zset"};
constexpr long long kWriterPxMs = 600000;
constexpr long long kCollectionCap = 64;  // lists and sets are deleted and regrown here

// What the writer last wrote to one key: the model every read is checked against.
struct WriterKey {
  std::string name;
  size_t kind = wString;
  bool written = false;
  bool broken = false;  // a failed request left its state unknown (already counted)
  std::string value;    // strings
  std::map<std::string, std::string> fields;  // hash: field -> value; zset: member -> score
  long long count = 0;  // list / set length
};

// A writer: its own keys, a write then a read of it on every step, and a final sweep
// that checks every key's whole state after the load stops.
class Writer {
 public:
  Writer(VerifyLoad::ThreadState& st, uint16_t port, const VerifyLoadOptions& o, size_t id)
      : conn_(st, port, o.timeout), st_(st), id_(id) {
    for (size_t j = 0; j < o.keysPerWriter; ++j) {
      WriterKey k;
      k.kind = j % wKinds;
      const char* kind = kWriterKindNames[k.kind];
      k.name = (j / wKinds) % 4 == 1 ? cat(o.prefix, "{w", id, "t", j % 3, "}:", kind, ":", j)
                                     : cat(o.prefix, "w", id, ":", kind, ":", j);
      keys_.push_back(std::move(k));
    }
  }

  void run(const std::stop_token& stop) {
    for (auto& k : keys_) reset(k);  // the model starts from nothing
    for (size_t n = 0; !stop.stop_requested(); ++n) {
      WriterKey& k = keys_[n % keys_.size()];
      if (k.broken) continue;
      if (!step(k)) reset(k);
    }
    for (auto& k : keys_) {
      if (k.broken || !k.written) continue;
      sweep(k);
      st_.persistentKeys.push_back(k.name);
    }
  }

 private:
  bool step(WriterKey& k) {
    const uint64_t seq = ++seq_;
    const std::string v = cat(id_, ":", seq);
    k.written = true;
    switch (k.kind) {
      case wString:
      case wStringPx: {
        Command set{"SET", k.name, v};
        if (k.kind == wStringPx) set.insert(set.end(), {"PX", std::to_string(kWriterPxMs)});
        if (!conn_.expect(set, status("OK"))) return false;
        k.value = v;
        return conn_.expect({"GET", k.name}, bulk(v));
      }
      case wHash: return stepHash(k, cat("f", seq % 4), v);
      case wList: return stepList(k, v);
      case wSet: return stepSet(k, cat("m", seq));
      default: return stepZset(k, cat("m", seq % 8), std::to_string(seq));
    }
  }
  bool stepHash(WriterKey& k, const std::string& f, const std::string& v) {
    const bool isNew = k.fields.count(f) == 0;
    if (!conn_.expect({"HSET", k.name, f, v}, integer(isNew ? 1 : 0))) return false;
    k.fields[f] = v;
    return conn_.expect({"HGET", k.name, f}, bulk(v));
  }
  bool stepList(WriterKey& k, const std::string& v) {
    if (!trim(k)) return false;
    if (!conn_.expect({"RPUSH", k.name, v}, integer(k.count + 1))) return false;
    k.value = v;
    ++k.count;
    return conn_.expect({"LINDEX", k.name, "-1"}, bulk(v)) &&
           conn_.expect({"LLEN", k.name}, integer(k.count));
  }
  bool stepSet(WriterKey& k, const std::string& m) {
    if (!trim(k)) return false;
    if (!conn_.expect({"SADD", k.name, m}, integer(1))) return false;
    ++k.count;
    return conn_.expect({"SISMEMBER", k.name, m}, integer(1));
  }
  bool stepZset(WriterKey& k, const std::string& m, const std::string& score) {
    const bool isNew = k.fields.count(m) == 0;
    if (!conn_.expect({"ZADD", k.name, score, m}, integer(isNew ? 1 : 0))) return false;
    k.fields[m] = score;
    return conn_.expect({"ZSCORE", k.name, m}, bulk(score));
  }
  // Keeps lists and sets small: a big one would slow the move it is meant to observe.
  bool trim(WriterKey& k) {
    if (k.count < kCollectionCap) return true;
    if (!conn_.expect({"DEL", k.name}, integer(1))) return false;
    k.count = 0;
    return true;
  }

  // The key's whole state, once the load has stopped (and the migration finished).
  void sweep(const WriterKey& k) {
    switch (k.kind) {
      case wStringPx: {
        auto r = conn_.request({"PTTL", k.name});
        if (r && !(r->type == ReplyType::Integer && r->integer > 0 && r->integer <= kWriterPxMs)) {
          conn_.wrong(cat("PTTL ", k.name, ": got ", r->describe(), ", expected in (0, ",
                          kWriterPxMs, "]"));
        }
      }
        [[fallthrough]];
      case wString: conn_.expect({"GET", k.name}, bulk(k.value)); return;
      case wHash: {
        std::vector<Reply> pairs;
        for (const auto& [f, v] : k.fields) pairs.insert(pairs.end(), {bulk(f), bulk(v)});
        auto r = conn_.request({"HGETALL", k.name});
        if (r && verifydetail::sortedPairs(*r) != array(pairs)) {
          conn_.wrong(cat("HGETALL ", k.name, ": expected ", array(pairs).describe(), ", got ",
                          r->describe()));
        }
        return;
      }
      case wList:
        conn_.expect({"LLEN", k.name}, integer(k.count));
        if (k.count > 0) conn_.expect({"LINDEX", k.name, "-1"}, bulk(k.value));
        return;
      case wSet: conn_.expect({"SCARD", k.name}, integer(k.count)); return;
      default:
        conn_.expect({"ZCARD", k.name}, integer(static_cast<long long>(k.fields.size())));
        for (const auto& [m, score] : k.fields) conn_.expect({"ZSCORE", k.name, m}, bulk(score));
    }
  }

  // After a failed step the key's state is unknown: start it again from nothing.
  void reset(WriterKey& k) {
    WriterKey fresh;
    fresh.name = k.name;
    fresh.kind = k.kind;
    k = std::move(fresh);
    if (!conn_.request({"DEL", k.name})) k.broken = true;
  }

  LoadConnection conn_;
  VerifyLoad::ThreadState& st_;
  size_t id_;
  uint64_t seq_ = 0;
  std::vector<WriterKey> keys_;
};

// A reader: batches of 8 random dataset keys, each must read exactly as loaded (the
// dataset is never written during the load, so a nil is a key lost by the move).
void readerLoop(VerifyLoad::ThreadState& st, uint16_t port, const VerifyLoadOptions& o,
                size_t id, const std::stop_token& stop) {
  LoadConnection conn(st, port, o.timeout);
  const Dataset& ds = *o.dataset;
  uint64_t x = 0x9E3779B97F4A7C15ull * (id + 1);
  std::vector<size_t> batch(8);
  std::vector<Reply> replies;
  while (!stop.stop_requested()) {
    Client* c = conn.client();
    if (c == nullptr) continue;
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& i : batch) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      i = (x >> 33) % ds.size;
      c->append(ds.readCommand(i));
    }
    replies.clear();
    for (size_t k = 0; k < batch.size(); ++k) replies.push_back(c->getReply());
    conn.record(t0, batch.size());
    for (size_t k = 0; k < batch.size(); ++k) {
      const Reply& r = replies[k];
      if (r.isError()) {
        conn.fail(cat("read ", ds.key(batch[k]), " -> ", r.describe()));
        if (r.type == ReplyType::IoError) break;  // the rest of the round is lost with it
      } else if (std::string problem = ds.checkRead(batch[k], r); !problem.empty()) {
        conn.wrong(problem);
      }
    }
    if (!c->ok()) conn.drop();  // an I/O error: reconnect on the next round
  }
}

long long percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t at = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  std::nth_element(v.begin(), v.begin() + at, v.end());
  return v[at];
}

}  // namespace

VerifyLoad::VerifyLoad(uint16_t port, VerifyLoadOptions options)
    : options_(std::move(options)), started_(std::chrono::steady_clock::now()) {
  const size_t readers = options_.dataset && options_.dataset->size ? options_.readers : 0;
  for (size_t t = 0; t < options_.writers + readers; ++t) {
    states_.push_back(std::make_unique<ThreadState>());
    ThreadState& st = *states_.back();
    if (t < options_.writers) {
      threads_.emplace_back([&st, port, t, this](std::stop_token stop) {
        Writer(st, port, options_, t).run(stop);
      });
    } else {
      threads_.emplace_back([&st, port, t, this](std::stop_token stop) {
        readerLoop(st, port, options_, t, stop);
      });
    }
  }
}

VerifyLoad::~VerifyLoad() {
  if (!stopped_) stop();
}

uint64_t VerifyLoad::ops() const {
  uint64_t n = 0;
  for (const auto& s : states_) n += s->ops.load(std::memory_order_relaxed);
  return n;
}

bool VerifyLoad::waitForOps(uint64_t perThread, std::chrono::milliseconds timeout) const {
  return waitUntil(
      [&] {
        return std::all_of(states_.begin(), states_.end(), [&](const auto& s) {
          return s->ops.load(std::memory_order_relaxed) >= perThread;
        });
      },
      timeout);
}

LoadSummary VerifyLoad::stop() {
  for (auto& t : threads_) t.request_stop();
  for (auto& t : threads_) t.join();
  stopped_ = true;
  LoadSummary sum;
  sum.seconds = elapsedMs(started_) / 1000.0;
  std::vector<uint32_t> latencies;
  for (auto& s : states_) {
    sum.ops += s->ops.load();
    sum.errors += s->errors;
    sum.wrongReads += s->wrongReads;
    for (auto& e : s->errorSamples) addSample(sum.errorSamples, e);
    for (auto& e : s->wrongSamples) addSample(sum.wrongSamples, e);
    sum.persistentKeys.insert(sum.persistentKeys.end(), s->persistentKeys.begin(),
                              s->persistentKeys.end());
    latencies.insert(latencies.end(), s->latenciesUs.begin(), s->latenciesUs.end());
  }
  sum.p50Us = percentile(latencies, 0.50);
  sum.p99Us = percentile(latencies, 0.99);
  sum.maxUs = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  return sum;
}

std::string LoadSummary::describe() const {
  std::string out = cat("load: ", ops, " requests in ", seconds, " s, ", errors, " errors, ",
                        wrongReads, " wrong reads, latency p50 ", p50Us, " us, p99 ", p99Us,
                        " us, max ", maxUs, " us");
  for (const auto& e : errorSamples) out += "\n  error: " + e;
  for (const auto& w : wrongSamples) out += "\n  wrong: " + w;
  return out;
}

}  // namespace testsupport
