// SourceWorker (proxy/migration/source_worker.h): one source's passes over SCAN, the
// batched MIGRATE, BUSYKEY settling by comparing copies, and retries with a backoff.
// Called by: Migrator::runSource on that source's thread.
#include "proxy/migration/source_worker.h"

#include <map>
#include <string_view>
#include <utility>

#include "proxy/migration/value_compare.h"

namespace mig {
namespace {

// Deletes the source copy only if it is still exactly the value we compared with the
// target's: a write that reached the source between our DUMP and this call is not lost.
constexpr const char* kCompareAndDelete =
    "if redis.call('DUMP', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

}  // namespace

void SourceWorker::run() {
  std::vector<std::string> keys;
  uint64_t next = 0;
  bool pending = false;  // a scanned batch not yet fully handled: redo it, never skip it
  while (!owner_.stopping()) {
    if ((!source_.connected() || !haveKeysAtStart_) && !connectSource()) continue;
    if (!pending) {
      keys.clear();
      if (!scan(&next, &keys)) continue;
      pending = true;
    }
    if (!moveBatch(keys)) continue;
    pending = false;
    backoff_.reset();
    if (finishBatch(next)) {
      owner_.sourceDone();
      return;
    }
  }
}

bool SourceWorker::connectSource() {
  const bool ok = ensureLink(source_, shard_) && (haveKeysAtStart_ || readKeysAtStart());
  if (!arrived_) {
    // A source that cannot be reached arrives anyway (after its first failure), so it
    // does not hold the others back.
    arrived_ = true;
    owner_.arriveAtStart();
    if (ok) owner_.waitForStart();
  }
  return ok;
}

bool SourceWorker::readKeysAtStart() {
  ReplyPtr r = source_.command({"DBSIZE"});
  if (r == nullptr) {
    fail("DBSIZE: " + source_.error());
    return false;
  }
  haveKeysAtStart_ = true;
  if (r->type != REDIS_REPLY_INTEGER) {
    // Only the ETA needs it: a refusal (an ACL without DBSIZE) must not stop the move.
    owner_.emitLog(1, "migration: source " + name(shard_) + ": DBSIZE " +
                          describeReply(r.get()) + "; no key count for this source");
    return true;
  }
  counters_.keysAtStart = static_cast<uint64_t>(std::max<long long>(0, r->integer));
  owner_.emitLog(0, "migration: source " + name(shard_) + " has " +
                        std::to_string(r->integer) + " keys; starting at cursor " +
                        std::to_string(cursor_) + " of pass " + std::to_string(pass_));
  return true;
}

bool SourceWorker::ensureLink(ShardLink& link, size_t shard) {
  if (link.connected()) return true;
  std::string error;
  if (link.connect(plan_.shards[shard], plan_.ioTimeoutMs, &error)) return true;
  fail("connect to " + name(shard) + ": " + error);
  return false;
}

bool SourceWorker::scan(uint64_t* next, std::vector<std::string>* keys) {
  ReplyPtr r = source_.command(
      {"SCAN", std::to_string(cursor_), "COUNT", std::to_string(plan_.batchKeys)});
  const bool shaped = r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                      r->element[1]->type == REDIS_REPLY_ARRAY;
  if (!shaped || !parseU64(replyText(r->element[0]), next)) {
    fail("SCAN: " + (r ? describeReply(r.get()) : source_.error()));
    return false;
  }
  const redisReply* list = r->element[1];
  for (size_t i = 0; i < list->elements; ++i) {
    const redisReply* key = list->element[i];
    if (key->type == REDIS_REPLY_STRING) keys->emplace_back(replyText(key));
  }
  counters_.scanned += keys->size();
  return true;
}

bool SourceWorker::moveBatch(const std::vector<std::string>& keys) {
  std::map<uint32_t, std::vector<std::string>> groups;  // target shard -> keys
  std::unordered_set<std::string_view> seen;
  for (const std::string& key : keys) {
    if (!plan_.reservedPrefix.empty() && key.starts_with(plan_.reservedPrefix)) continue;
    const uint32_t owner = plan_.to->ownerOf(key);
    // A key twice in one MIGRATE would be RESTOREd twice and fail the second time.
    if (owner == shard_ || !seen.insert(key).second) continue;
    groups[owner].push_back(key);
  }
  for (const auto& [target, group] : groups) {
    if (!owner_.throttle(group.size())) return false;
    if (!migrateGroup(target, group)) return false;
  }
  return true;
}

Argv SourceWorker::migrateArgv(uint32_t target, const std::vector<std::string>& keys) const {
  const ShardEndpoint& ep = plan_.shards[target];
  Argv argv{"MIGRATE", ep.host, std::to_string(ep.port), "", "0",
            std::to_string(plan_.migrateTimeoutMs)};
  if (!ep.username.empty()) {
    argv.insert(argv.end(), {"AUTH2", ep.username, ep.password});
  } else if (!ep.password.empty()) {
    argv.insert(argv.end(), {"AUTH", ep.password});
  }
  argv.push_back("KEYS");
  argv.insert(argv.end(), keys.begin(), keys.end());
  return argv;
}

bool SourceWorker::migrateGroup(uint32_t target, const std::vector<std::string>& keys) {
  // EXISTS and MIGRATE in one MULTI: nothing runs between them, so EXISTS counts exactly
  // the keys this MIGRATE takes, even while the data path moves keys on access (MIGRATE
  // answers only +OK, not how many keys it found).
  Argv exists{"EXISTS"};
  exists.insert(exists.end(), keys.begin(), keys.end());
  std::vector<ReplyPtr> replies =
      source_.pipeline({{"MULTI"}, exists, migrateArgv(target, keys), {"EXEC"}});
  const std::string what = "MIGRATE " + std::to_string(keys.size()) + " keys to " + name(target);
  if (replies.empty()) {
    fail(what + ": " + source_.error());
    return false;
  }
  const redisReply* exec = replies.back().get();
  if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2 ||
      exec->element[0]->type != REDIS_REPLY_INTEGER) {
    fail(what + ": EXEC " + describeReply(exec));
    return false;
  }
  const uint64_t existed = static_cast<uint64_t>(std::max<long long>(0, exec->element[0]->integer));
  const redisReply* reply = exec->element[1];
  if (isStatus(reply, "OK")) {
    addMoved(existed);
    return true;
  }
  if (isStatus(reply, "NOKEY")) return true;  // the data path moved them all already
  const bool busy = reply->type == REDIS_REPLY_ERROR &&
                    replyText(reply).find("BUSYKEY") != std::string_view::npos;
  if (busy) {
    return resolveBusy(target, keys, existed);
  }
  // IOERR, a timeout, an AUTH refusal, OOM on the target...: the keys the target did not
  // acknowledge are still on the source, so redoing the batch loses nothing; keys the
  // target did restore before an IOERR come back as BUSYKEY and are settled there.
  fail(what + ": " + describeReply(reply));
  return false;
}

bool SourceWorker::resolveBusy(uint32_t target, const std::vector<std::string>& keys,
                               uint64_t existed) {
  // Redis carries on past a refused key: every key the target accepted is already gone
  // from the source. Find the ones still here.
  std::vector<Argv> probes;
  for (const std::string& key : keys) probes.push_back({"EXISTS", key});
  std::vector<ReplyPtr> replies = source_.pipeline(probes);
  if (replies.empty()) {
    fail("EXISTS after BUSYKEY: " + source_.error());
    return false;
  }
  std::vector<std::string> present;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (replies[i]->type == REDIS_REPLY_INTEGER && replies[i]->integer > 0) {
      present.push_back(keys[i]);
    }
  }
  // Approximate only if the data path moved one of `present` between EXEC and the probes.
  addMoved(existed > present.size() ? existed - present.size() : 0);
  return settlePresent(target, present);
}

bool SourceWorker::settlePresent(uint32_t target, const std::vector<std::string>& present) {
  if (present.empty()) return true;
  if (!ensureLink(targets_[target], target)) return false;
  std::vector<Argv> dumps;
  for (const std::string& key : present) dumps.push_back({"DUMP", key});
  std::vector<ReplyPtr> ours = source_.pipeline(dumps);
  std::vector<ReplyPtr> theirs = targets_[target].pipeline(dumps);
  if (ours.empty() || theirs.empty()) {
    fail("DUMP after BUSYKEY: " + (ours.empty() ? source_.error() : targets_[target].error()));
    return false;
  }
  std::vector<size_t> same;
  bool unresolved = false;
  for (size_t i = 0; i < present.size(); ++i) {
    const redisReply* a = ours[i].get();
    const redisReply* b = theirs[i].get();
    if (a->type == REDIS_REPLY_NIL) continue;  // moved or deleted meanwhile
    if (a->type != REDIS_REPLY_STRING || b->type != REDIS_REPLY_STRING) {
      unresolved = true;  // not on the target: refused for another reason; redo the batch
    } else if (replyText(a) == replyText(b)) {
      same.push_back(i);
    } else {
      const Sameness verdict = compareCopies(source_, targets_[target], present[i]);
      if (verdict == Sameness::Same) same.push_back(i);
      if (verdict == Sameness::Different) reportConflict(target, present[i]);
      if (verdict == Sameness::Unreadable) unresolved = true;
    }
  }
  const uint64_t movedBefore = passMoved_;
  if (!deleteIfUnchanged(present, ours, same, &unresolved)) return false;
  if (passMoved_ > movedBefore) {
    owner_.emitLog(0, "migration: " + std::to_string(passMoved_ - movedBefore) + " keys of " +
                          name(shard_) + " were already on " + name(target) +
                          " with the same value; source copies removed");
  }
  if (unresolved) {
    fail("MIGRATE to " + name(target) + ": after BUSYKEY, keys remain that are not on the " +
         "target, changed meanwhile, or could not be compared");
    return false;
  }
  return true;
}

bool SourceWorker::deleteIfUnchanged(const std::vector<std::string>& keys,
                                     const std::vector<ReplyPtr>& dumps,
                                     const std::vector<size_t>& same, bool* unresolved) {
  if (same.empty()) return true;
  std::vector<Argv> evals;
  for (size_t i : same) evals.push_back({"EVAL", kCompareAndDelete, "1", keys[i],
                                         std::string(replyText(dumps[i].get()))});
  std::vector<ReplyPtr> replies = source_.pipeline(evals);
  if (replies.empty()) {
    fail("compare-and-delete: " + source_.error());
    return false;
  }
  for (const ReplyPtr& r : replies) {
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
      addMoved(1);
    } else {
      *unresolved = true;  // written meanwhile (or a script error): look again
    }
  }
  return true;
}

void SourceWorker::reportConflict(uint32_t target, const std::string& key) {
  if (!reported_.insert(key).second) return;
  ++counters_.conflicts;
  owner_.emitLog(1, "migration conflict: key '" + printableKey(key) + "' is on " +
                        name(shard_) + " and on " + name(target) +
                        " with different values; both copies kept, neither overwritten");
}

bool SourceWorker::finishBatch(uint64_t next) {
  if (next == 0) {
    // The pass ended. Only a pass that saw the whole keyspace, moved nothing and never
    // failed proves nothing is left (conflicts stay where they are by design).
    if (!passDirty_ && passMoved_ == 0) {
      counters_.done = true;
      owner_.emitLog(0, "migration: source " + name(shard_) + " done after pass " +
                            std::to_string(pass_));
      return true;
    }
    ++pass_;
    passDirty_ = false;
    passMoved_ = 0;
  }
  cursor_ = next;
  counters_.cursor = cursor_;
  counters_.pass = pass_;
  owner_.emitCursor(shard_, SourceCursor{cursor_, pass_});
  return false;
}

void SourceWorker::fail(const std::string& what) {
  if (owner_.stopping()) return;
  ++counters_.errors;
  passDirty_ = true;
  const std::chrono::milliseconds wait = backoff_.next();
  owner_.emitLog(1, "migration: source " + name(shard_) + ": " + what + "; retrying in " +
                        std::to_string(wait.count()) + " ms");
  owner_.sleepFor(wait);
}

void SourceWorker::addMoved(uint64_t n) {
  counters_.moved += n;
  passMoved_ += n;
}

}  // namespace mig
