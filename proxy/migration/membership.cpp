// Membership: the heartbeat thread (see membership.h).
#include "proxy/migration/membership.h"

#include <algorithm>
#include <map>

#include "proxy/migration/shard_link.h"

namespace mig {

namespace {
const std::string kMembers = "__ringproxy:members";
const std::string kMemberPrefix = "__ringproxy:member:";

MemberRecord parseRecord(const std::string& id, const redisReply* r) {
  MemberRecord m;
  m.id = id;
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return m;
  for (size_t i = 0; i + 1 < r->elements; i += 2) {
    const std::string_view field = replyText(r->element[i]);
    const std::string value(replyText(r->element[i + 1]));
    if (field == "phase") m.phase = value;
    else if (field == "from") m.from = value;
    else if (field == "to") m.to = value;
    else if (field == "address") m.address = value;
    else if (field == "plan") m.plan = value;
    else if (field == "seq") parseU64(value, &m.seq);
  }
  return m;
}
}  // namespace

struct Membership::Link {
  ShardEndpoint endpoint;
  ShardLink link;
  bool selected = false;
};

Membership::Membership(MembershipOptions options, OnView onView, Log log)
    : options_(std::move(options)), onView_(std::move(onView)), log_(std::move(log)) {
  self_.id = options_.id;
  self_.address = options_.address;
  self_.phase = "stable";
}

Membership::~Membership() { stop(); }

void Membership::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Membership::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Membership::setShards(std::vector<ShardEndpoint> shards) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shards_ = std::move(shards);
    shardsChanged_ = true;
    woken_ = true;
  }
  wake_.notify_all();
}

void Membership::setSelf(std::string phase, std::string from, std::string to, std::string plan) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    self_.phase = std::move(phase);
    self_.from = std::move(from);
    self_.to = std::move(to);
    self_.plan = std::move(plan);
    ++self_.seq;
    woken_ = true;
  }
  wake_.notify_all();
}

void Membership::run() {
  std::vector<std::unique_ptr<Link>> links;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (shardsChanged_) {
      shardsChanged_ = false;
      links.clear();
      for (const ShardEndpoint& ep : shards_) {
        links.push_back(std::make_unique<Link>());
        links.back()->endpoint = ep;
      }
    }
    woken_ = false;
    lock.unlock();
    beat(links);
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(options_.heartbeatMs), [this] { return woken_ || stopping_; });
  }
  lock.unlock();
  removeSelf(links);
}

// One heartbeat: write our record and read everybody's on every shard, then merge (a
// member is live when its record exists on any shard; the highest seq wins).
void Membership::beat(std::vector<std::unique_ptr<Link>>& links) {
  MemberRecord self;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    self = self_;
  }
  std::map<std::string, MemberRecord> merged;
  MemberView view;
  for (auto& link : links) {
    std::vector<MemberRecord> seen;
    if (!beatOne(*link, self, seen)) continue;
    ++view.shardsReached;
    for (MemberRecord& m : seen) {
      auto it = merged.find(m.id);
      if (it == merged.end() || it->second.seq < m.seq) merged[m.id] = std::move(m);
    }
  }
  if (view.shardsReached > 0) view.lastSelfWrite = std::chrono::steady_clock::now();
  for (auto& [id, m] : merged) view.members.push_back(std::move(m));
  if (onView_) onView_(std::move(view));
}

bool Membership::beatOne(Link& l, const MemberRecord& self, std::vector<MemberRecord>& out) {
  if (!l.link.connected()) {
    std::string error;
    l.selected = false;
    if (!l.link.connect(l.endpoint, std::max<uint32_t>(200, options_.heartbeatMs), &error)) return false;
  }
  if (!l.selected) {
    ReplyPtr r = l.link.command({"SELECT", std::to_string(options_.db)});
    if (!r || r->type == REDIS_REPLY_ERROR) {
      if (log_) log_(1, "cluster: shard " + l.endpoint.name + " refused SELECT " + std::to_string(options_.db) + ": " +
                            (r ? describeReply(r.get()) : l.link.error()));
      l.link.reset();
      return false;
    }
    l.selected = true;
  }
  const std::string key = kMemberPrefix + self.id;
  std::vector<ReplyPtr> r = l.link.pipeline({
      {"HSET", key, "phase", self.phase, "from", self.from, "to", self.to, "address", self.address, "plan",
       self.plan, "seq", std::to_string(self.seq)},
      {"PEXPIRE", key, std::to_string(options_.ttlMs)},
      {"SADD", kMembers, self.id},
      {"SMEMBERS", kMembers}});
  if (r.size() != 4 || !r[3] || r[3]->type != REDIS_REPLY_ARRAY) return false;
  std::vector<std::string> ids;
  std::vector<Argv> reads;
  for (size_t i = 0; i < r[3]->elements; ++i) {
    ids.emplace_back(replyText(r[3]->element[i]));
    reads.push_back({"HGETALL", kMemberPrefix + ids.back()});
  }
  std::vector<ReplyPtr> records = l.link.pipeline(reads);
  if (records.size() != ids.size()) return false;
  std::vector<Argv> gone;
  for (size_t i = 0; i < ids.size(); ++i) {
    MemberRecord m = parseRecord(ids[i], records[i].get());
    if (m.phase.empty()) gone.push_back({"SREM", kMembers, ids[i]});  // its record expired
    else out.push_back(std::move(m));
  }
  if (!gone.empty()) l.link.pipeline(gone);
  return true;
}

void Membership::removeSelf(std::vector<std::unique_ptr<Link>>& links) {
  for (auto& l : links) {
    if (!l->link.connected() || !l->selected) continue;
    l->link.pipeline({{"DEL", kMemberPrefix + options_.id}, {"SREM", kMembers, options_.id}});
  }
}

}  // namespace mig
