// MigrationCoordinator: an instance that starts (or restarts) while other instances are
// migrating joins their migration instead of routing by its file alone. Its records show
// the plan (both shard lists) for exactly this. Until the first heartbeat view has been
// looked at, the instance does not accept clients (signalReady), so it never serves a
// request by a ring the others are leaving.
#include <boost/asio.hpp>

#include <cstdio>

#include "config/config_loader.h"
#include "proxy/log.h"
#include "proxy/server/migration_coordinator_impl.h"

namespace proxy {

namespace {
// Names are written percent-encoded where they could break the line format.
std::string encode(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == '\t' || c == '\n' || c == '\r') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct PlanEntry {
  std::string name;
  config::Endpoint address;
  uint32_t fromWeight = 0;
  uint32_t toWeight = 0;
};

// "name \t host:port \t w0 \t w1" per line; false when a line does not parse.
bool parsePlan(const std::string& text, std::vector<PlanEntry>& out) {
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1), t3 = line.find('\t', t2 + 1);
    if (t3 == std::string::npos) return false;
    PlanEntry e;
    e.name = decode(line.substr(0, t1));
    const std::string addr = line.substr(t1 + 1, t2 - t1 - 1);
    const size_t colon = addr.rfind(':');
    if (colon == std::string::npos) return false;
    e.address.host = addr.substr(0, colon);
    if (e.address.host.size() > 2 && e.address.host.front() == '[') e.address.host = e.address.host.substr(1, e.address.host.size() - 2);
    e.address.port = static_cast<uint16_t>(std::stoul(addr.substr(colon + 1)));
    e.fromWeight = static_cast<uint32_t>(std::stoul(line.substr(t2 + 1, t3 - t2 - 1)));
    e.toWeight = static_cast<uint32_t>(std::stoul(line.substr(t3 + 1)));
    out.push_back(std::move(e));
  }
  return !out.empty();
}

config::ShardConfig shardFor(const PlanEntry& e, uint32_t weight, const config::ProxyConfig& cfg) {
  config::ShardConfig s;
  for (const auto& known : cfg.shards) {
    if (known.name == e.name) s = known;  // keeps its credentials
  }
  s.name = e.name;
  s.address = e.address;
  s.weight = weight;
  return s;
}
}  // namespace

std::string MigrationCoordinator::Impl::planText() const {
  std::string out;
  for (size_t i = 0; i < unionConfig->shards.size(); ++i) {
    const config::ShardConfig& s = unionConfig->shards[i];
    out += encode(s.name) + "\t" + s.address.str() + "\t" + std::to_string(from->shards()[i].weight) + "\t" +
           std::to_string(to->shards()[i].weight) + "\n";
  }
  return out;
}

// A live instance moving keys towards our ring (we run the new file already), or, while
// we are still starting, away from it (we were started with an old file): take its plan
// (the same rule as a resumed state file: in R0 unless added, in R1 unless removed) and
// start in the fenced phase, which is safe beside every other phase. A running instance
// whose file was not edited does not join: it is the lagging member the others wait for.
void MigrationCoordinator::Impl::joinRunningMigration() {
  const bool starting = static_cast<bool>(whenReady);
  for (const auto* m : others()) {
    const bool moving = m->phase == "prepared" || m->phase == "fenced" || m->phase == "migrating";
    const bool ours = m->to == stableDigest || (starting && m->from == stableDigest);
    const bool finishedIt = finishedFrom == m->from && stableDigest == m->to;  // we cut over already
    // Started with a file the others already migrated away from: take their ring (so we
    // never read an old owner), then our file's ring waits for everyone as a new plan.
    const bool behind = starting && m->phase == "stable" && !m->from.empty() && m->from == stableDigest &&
                        m->to != stableDigest;
    if ((!moving || !ours || finishedIt) && !behind) continue;
    if (m->plan.empty()) continue;
    const ConfigPtr mine = target;
    if (!adoptPlan(*m)) continue;
    waiting = stableDigest != toDigest ? mine : nullptr;  // our file differs: back to it afterwards
    logx::warn("cluster: " + std::string(behind ? "adopting the ring instance " : "joining the migration of instance ") +
               m->id + " (" + m->from + " -> " + m->to + ")" +
               (waiting ? "; this instance's file has another ring, which then waits for every instance" : ""));
    if (behind) {
      finishedFrom = fromDigest;
      finishedPlan = m->plan;
      publishStats({});
      announce();
      publish(stableSnapshot(), nullptr);
      if (waiting) reload(std::exchange(waiting, nullptr));
      return;
    }
    startPlan();
    return enter(Phase::Fenced);
  }
}

// Takes member m's plan as ours (target, rings, digests); false (nothing changed) when it
// does not parse or does not give m's digests with our ring settings.
bool MigrationCoordinator::Impl::adoptPlan(const mig::MemberRecord& m) {
  std::vector<PlanEntry> entries;
  try {
    if (!parsePlan(m.plan, entries)) return false;
  } catch (const std::exception&) {
    return false;
  }
  const ConfigPtr mine = target;
  std::vector<config::ShardConfig> oldShards, newShards;
  for (const auto& e : entries) {
    if (inOldList(e.fromWeight, e.toWeight)) oldShards.push_back(shardFor(e, e.fromWeight, *mine));
    if (inNewList(e.fromWeight, e.toWeight)) newShards.push_back(shardFor(e, e.toWeight, *mine));
  }
  auto next = std::make_shared<config::ProxyConfig>(*mine);
  next->shards = std::move(newShards);
  target = std::move(next);
  plan(std::move(oldShards));
  if (fromDigest == m.from && toDigest == m.to) return true;
  logx::error("cluster: instance " + m.id + " migrated " + m.from + " -> " + m.to +
              " but its plan does not match this instance's ring settings; not following it");
  target = mine;
  return false;
}

void MigrationCoordinator::Impl::signalReady() {
  if (!whenReady) return;
  auto ready = std::move(whenReady);
  whenReady = nullptr;
  readyTimer.cancel();
  ready();
}

}  // namespace proxy
