// ClientSession during a live migration (design §7.2): a request that touches a key whose
// owner differs between the previous and the current ring first moves that key.
//   1. Keys of the request are checked against both rings; keys this worker already saw
//      leave their old owner are skipped.
//   2. For each (old owner, new owner) pair, one `MIGRATE host port "" 0 timeout [AUTH..]
//      KEYS k...` goes to the old owner on this client's shared connection. MIGRATE is
//      atomic on the server, keeps TTLs, answers NOKEY when the key already left (or never
//      existed), and refuses with BUSYKEY when the target has the key too.
//   3. The request stays unread (the session pauses, like the connection-switch barrier)
//      until every MIGRATE answered; then it is dispatched again, now on the new owner. A
//      key therefore lives in one place, and a write never lands on the old owner once
//      the key may have moved. Later requests of the client wait behind it, so a
//      pipeline keeps its order.
//   4. A failed MIGRATE (BUSYKEY conflict, IOERR, shard down) answers the request with an
//      error naming both shards instead of running it anywhere.
// With several proxy instances (MigrationCoordinator) the snapshot may say Hold instead:
// the request waits, unread, for the next snapshot, because another instance may still
// read the old owner; or Refuse: this instance lost its membership heartbeat, so it
// answers TRYAGAIN instead of touching a key the others may have moved.
#include <boost/asio/ip/tcp.hpp>

#include "proxy/command/command_table.h"
#include "proxy/errors.h"
#include "proxy/resp/resp_writer.h"
#include "proxy/server/client_session.h"
#include "proxy/server/worker.h"

namespace proxy {

namespace {
// A request names at most a few keys in practice; group by (from, to) pair.
struct Move {
  uint32_t from;
  uint32_t to;
  std::vector<size_t> args;
};

std::string migrateCommand(const config::ShardConfig& target, const config::ProxyConfig& cfg,
                           const std::vector<std::string_view>& keys) {
  const config::Credentials& c = target.credentials ? *target.credentials : cfg.backend.credentials;
  const size_t auth = c.password.empty() ? 0 : c.username.empty() ? 2 : 3;
  std::string out;
  resp::appendArrayHeader(out, 7 + auth + keys.size());
  resp::appendBulk(out, "MIGRATE");
  resp::appendBulk(out, target.address.host);
  resp::appendBulk(out, std::to_string(target.address.port));
  resp::appendBulk(out, "");
  resp::appendBulk(out, "0");
  resp::appendBulk(out, std::to_string(cfg.migration.timeoutMs));
  if (auth == 2) resp::appendBulk(out, "AUTH");
  if (auth == 3) resp::appendBulk(out, "AUTH2"), resp::appendBulk(out, c.username);
  if (auth > 0) resp::appendBulk(out, c.password);
  resp::appendBulk(out, "KEYS");
  for (std::string_view k : keys) resp::appendBulk(out, k);
  return out;
}
// The request's keys (argument indices) whose owners differ, grouped by (from, to).
std::vector<Move> movingKeys(const resp::RequestParser& parser, const std::vector<size_t>& keyArgs,
                             const RoutingSnapshot& snap, const Worker& worker) {
  std::vector<Move> moves;
  for (size_t i : keyArgs) {
    const std::string_view key = parser.arg(i);
    const uint32_t to = snap.ring->ownerOf(key);
    const uint32_t from = snap.previous->ownerOf(key);
    if (from == to || worker.knownMoved(key)) continue;
    auto it = std::find_if(moves.begin(), moves.end(), [&](const Move& m) { return m.from == from && m.to == to; });
    if (it == moves.end()) it = moves.insert(moves.end(), Move{from, to, {}});
    it->args.push_back(i);
  }
  return moves;
}

bool carriesNoKeys(const cmd::CommandSpec& spec) {
  using cmd::Strategy;
  return spec.strategy == Strategy::PubSub || spec.strategy == Strategy::Local || spec.strategy == Strategy::Keyspace ||
         spec.strategy == Strategy::Broadcast;
}
}  // namespace

// The held request comes back after its MIGRATEs: run it, or answer their error. Under a
// newer snapshot (cut-over, another migration) nothing is decided here: look again.
std::optional<ClientSession::Gate> ClientSession::heldRequestOutcome(uint32_t index) {
  gatePassed_ = false;
  const std::string error = std::move(gateError_);
  gateError_.clear();
  if (worker_.snapshot().epoch != gateEpoch_) return std::nullopt;
  if (error.empty()) return Gate::Pass;
  if (txn_.multi) txn_.aborted = true;
  completeError(reserveSlot(index), error);
  return Gate::Answered;
}

ClientSession::Gate ClientSession::migrationGate(const cmd::CommandSpec& spec, uint32_t index) {
  if (gatePassed_) {
    if (const auto outcome = heldRequestOutcome(index)) return *outcome;
  }
  const RoutingSnapshot& snap = worker_.snapshot();
  if (!snap.previous || carriesNoKeys(spec) || (pubsub_ && pubsub_->active)) return Gate::Pass;
  keyIndex().clear();
  if (!cmd::keyIndices(spec, parser_.argc(), [this](size_t i) { return parser_.arg(i); }, keyIndex())) {
    return Gate::Pass;
  }
  const std::vector<Move> moves = movingKeys(parser_, keyIndex(), snap, worker_);
  if (moves.empty()) return Gate::Pass;
  if (snap.moves == RoutingSnapshot::Moves::Refuse) {
    if (txn_.multi) txn_.aborted = true;
    completeError(reserveSlot(index), errors::kMovingIsolated);
    return Gate::Answered;
  }
  if (snap.moves == RoutingSnapshot::Moves::Hold) {
    heldForSnapshot_ = true;
    paused_ = true;
    worker_.holdUntilNextSnapshot(shared_from_this());
    return Gate::Wait;
  }
  gateKeys_.clear();
  gateMoves_.clear();
  gateError_.clear();
  gateEpoch_ = snap.epoch;
  for (const Move& m : moves) {
    std::vector<std::string_view> keys;
    for (size_t i : m.args) keys.push_back(parser_.arg(i)), gateKeys_.emplace_back(parser_.arg(i));
    sendMigrate(m.from, m.to, migrateCommand(snap.config->shards[m.to], *snap.config, keys));
  }
  if (migratesOutstanding_ == 0) {  // every send failed at once: answer now
    if (txn_.multi) txn_.aborted = true;
    completeError(reserveSlot(index), gateError_);
    gateError_.clear();
    return Gate::Answered;
  }
  paused_ = true;
  return Gate::Wait;
}

bool ClientSession::sendMigrate(uint32_t from, uint32_t to, std::string_view command) {
  worker_.cells().migrateOnAccess.add();
  gateMoves_.emplace_back(from, to);
  auto error = worker_.backend(from, id_).send(command, &migrateSink_, gateMoves_.size() - 1);
  if (error) {
    if (gateError_.empty()) {
      gateError_ = errors::moveFailed(worker_.shardName(from), worker_.shardName(to),
                                      backendErrorText(worker_.shardName(from), *error));
    }
    return false;
  }
  ++migratesOutstanding_;
  ++inflight_;
  return true;
}

void ClientSession::MigrateSink::onReply(uint64_t tag, std::string_view frame) {
  if (frame.empty() || frame[0] != '-') return owner->migrateReplied(tag, {});
  // "-BUSYKEY ..." or "-ERR Target instance replied with error: BUSYKEY ...", "-IOERR ..."
  std::string_view text = frame.substr(1);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  owner->migrateReplied(tag, text.empty() ? std::string_view("error") : text);
}

void ClientSession::MigrateSink::onError(uint64_t tag, pool::BackendError error) {
  const auto& [from, to] = owner->gateMoves_.at(tag);
  owner->migrateReplied(tag, backendErrorText(owner->worker_.shardName(from), error));
}

void ClientSession::snapshotChanged() {
  if (!heldForSnapshot_) return;
  heldForSnapshot_ = false;
  maybeResume();
}

void ClientSession::migrateReplied(uint64_t tag, std::string_view errorText) {
  --inflight_;
  --migratesOutstanding_;
  if (!errorText.empty() && gateError_.empty()) {
    const auto& [from, to] = gateMoves_.at(tag);
    gateError_ = errors::moveFailed(worker_.shardName(from), worker_.shardName(to), errorText);
  }
  if (migratesOutstanding_ == 0) {
    if (gateError_.empty() && worker_.snapshot().epoch == gateEpoch_) {
      for (const std::string& k : gateKeys_) worker_.noteMoved(k);
    }
    gatePassed_ = true;
  }
  requestDone();
}

}  // namespace proxy
