// Worker: keeping CLIENT TRACKING in place on its data connections (design §6 steps 2, 5;
// anchors §5.2 steps 2, 7-9), and applying the CacheHub's events to its L1 partition.
//
// Setting up a shard (setupTracking), for one generation:
//   1. caching of the shard stops and its entries go (a previous setup's are void);
//   2. with the shard's subscriber up (its id and name known), every data connection gets
//      `CLIENT TRACKING on REDIRECT <id> OPTIN` then `CLIENT LIST ID <id>`;
//   3. caching resumes when every reply of this generation came back good: tracking
//      accepted, and the redirect target is our subscriber (its name) and subscribed
//      (sub=1). The second check matters after a shard restart: ids start again from 1,
//      so an old id may name some other client, and Redis silently drops invalidations
//      for a target that is not subscribed.
// It runs again whenever a data connection (re)connects, the subscriber reconnects (a new
// id), or the cache is turned on. A data connection that drops, or a lost subscriber,
// stops the shard's caching at once (RESP2 gives no other signal of lost coverage).
#include "proxy/log.h"
#include "proxy/metrics/shard_directory.h"
#include "proxy/resp/resp_writer.h"
#include "proxy/server/worker.h"

namespace proxy {

namespace {
constexpr unsigned kSlotShift = 48;
constexpr uint64_t kGenerationMask = (1ull << 47) - 1;
constexpr uint64_t kListTag = 1ull << 47;  // the CLIENT LIST ID reply (else CLIENT TRACKING)
}  // namespace


void Worker::setupTracking(uint32_t shard) {
  if (!cache_.enabled() || shard >= backends_.size()) return;
  const uint32_t slot = shardSlots_[shard];
  WorkerCache::Tracking& t = cache_.tracking(slot);
  t.generation = (t.generation + 1) & kGenerationMask;
  t.failed = false;
  t.awaiting = 0;
  cache_.l1().setShardCaching(slot, false);
  if (t.redirectId == 0) return;
  const std::string id = std::to_string(t.redirectId);
  const std::string_view trackArgs[] = {"CLIENT", "TRACKING", "on", "REDIRECT", id, "OPTIN"};
  const std::string_view listArgs[] = {"CLIENT", "LIST", "ID", id};
  std::string track;
  std::string list;
  resp::appendCommand(track, trackArgs);
  resp::appendCommand(list, listArgs);
  const uint64_t tag = (uint64_t{slot} << kSlotShift) | t.generation;
  for (auto& conn : backends_[shard]) {
    for (int step = 0; step < 2; ++step) {
      ++t.awaiting;
      if (conn->send(step == 0 ? track : list, &trackingSink_, step == 0 ? tag : tag | kListTag)) {
        --t.awaiting;
        t.failed = true;  // not connected now: its coming up starts a new generation
      }
    }
  }
}

void Worker::trackingReply(uint64_t tag, std::string_view frame, bool failed) {
  const auto slot = static_cast<uint32_t>(tag >> kSlotShift);
  WorkerCache::Tracking& t = cache_.tracking(slot);
  if ((tag & kGenerationMask) != t.generation || t.awaiting == 0) return;  // an older setup's
  --t.awaiting;
  bool good = !failed && !frame.empty() && frame[0] != '-';
  if (good && (tag & kListTag) != 0) {
    // A bulk with one CLIENT LIST line: "id=.. addr=.. name=<name> ... sub=1 ...".
    good = frame.find(" name=" + t.subscriberName + " ") != std::string_view::npos &&
           frame.find(" sub=1 ") != std::string_view::npos;
  }
  if (!good && !t.failed) {
    const std::string shown(frame.substr(0, std::min<size_t>(frame.size(), 200)));
    logx::warn("cache: tracking not established shard=" + metrics::ShardDirectory::instance().name(slot) +
               " reply=\"" + (failed ? std::string("request failed") : shown) + "\"");
  }
  if (!good) t.failed = true;
  if (t.awaiting == 0 && !t.failed && cache_.enabled()) cache_.l1().setShardCaching(slot, true);
}

void Worker::setupAllTracking() {
  for (uint32_t s = 0; s < backends_.size(); ++s) setupTracking(s);
}

void Worker::trackingReady(uint32_t slot, int64_t redirectId, std::string subscriberName) {
  WorkerCache::Tracking& t = cache_.tracking(slot);
  t.redirectId = redirectId;
  t.subscriberName = std::move(subscriberName);
  for (uint32_t s = 0; s < shardSlots_.size(); ++s) {
    if (shardSlots_[s] == slot) setupTracking(s);
  }
}

void Worker::trackingLost(uint32_t slot) {
  cache_.tracking(slot).redirectId = 0;
  stopCaching(slot, metrics::kFlushSubscriberLost);
}

// Coverage of the shard broke: its entries go, its caching stops, and acknowledgements of
// the setup in progress no longer count (the next setup starts a new generation).
void Worker::stopCaching(uint32_t slot, metrics::FlushReason reason) {
  WorkerCache::Tracking& t = cache_.tracking(slot);
  t.generation = (t.generation + 1) & kGenerationMask;
  t.awaiting = 0;
  if (!cache_.enabled()) return;
  cache_.flush(slot, reason);
  cache_.l1().setShardCaching(slot, false);
}

void Worker::cacheInvalidate(uint32_t slot, const std::vector<std::string>& keys) {
  if (!cache_.enabled()) return;
  for (const std::string& key : keys) cache_.invalidate(slot, key);
  cache_.syncCells();
}

void Worker::cacheFlush(uint32_t slot, metrics::FlushReason reason) {
  if (cache_.enabled()) cache_.flush(slot, reason);
}

// Called by a data connection's counters when it connects or drops.
void Worker::dataConnectionEvent(const std::string& shardName, bool up) {
  if (!cache_.enabled()) return;
  const auto& shards = snapshot_.config->shards;
  for (uint32_t s = 0; s < shards.size() && s < shardSlots_.size(); ++s) {
    if (shards[s].name != shardName) continue;
    if (up) {
      setupTracking(s);
    } else {
      stopCaching(shardSlots_[s], metrics::kFlushConnectionLost);
    }
  }
}

}  // namespace proxy
