// Full command coverage, part 2: the commands that take the session's dedicated backend
// connection — MULTI/EXEC pinned to one shard (hash tags, WATCH conflicts, CROSSSLOT
// inside MULTI, a client that waits for every +QUEUED) and BLPOP (woken by another client,
// other clients served meanwhile, pipelined behind it, its own timeout longer than
// backend.timeout_ms, CLIENT UNBLOCK). "Blocked" is observed on the shard itself
// (INFO clients: blocked_clients), never assumed after a sleep.
// Owns: nothing shared (each TEST_CASE builds its own ShardedCluster on free ports).
// Run by: ctest as "e2e: commands: ...".
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/commands_e2e.h"
#include "tests/support/cluster.h"
#include "tests/support/net.h"
#include "tests/support/text.h"

using namespace testsupport;
using namespace cmdtest;
using namespace std::chrono_literals;

namespace {

// One command run on its own thread (it is expected to block); joined on destruction, so
// a failed REQUIRE in the test never leaves a thread behind (the client's own timeout
// bounds the wait).
class BackgroundCall {
 public:
  BackgroundCall(Client& c, std::vector<std::string> cmd)
      : thread_([this, &c, cmd = std::move(cmd)] {
          reply_ = c.cmd(cmd);
          elapsedMs_ = elapsedMs(start_);
          done_ = true;
        }) {}
  ~BackgroundCall() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_; }
  // Waits for the reply (bounded by the client's timeout).
  const Reply& reply() {
    if (thread_.joinable()) thread_.join();
    return reply_;
  }
  long long elapsed() {
    reply();
    return elapsedMs_;
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<bool> done_{false};
  Reply reply_;
  long long elapsedMs_ = 0;
  std::thread thread_;  // last: starts once the members above exist
};

// Waits (bounded) until the shard that owns `key` reports `n` blocked clients.
bool waitBlocked(ShardedCluster& cluster, const std::string& key, long long n = 1) {
  const auto& shard = cluster.shard(cluster.ownerOf(key));
  return waitUntil([&] { return blockedClients(shard) == n; }, 5000ms, 10ms);
}

}  // namespace

TEST_CASE("commands: MULTI/EXEC on keys sharing a hash tag runs on their shard",
          "[commands][transaction]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  CHECK(c.cmd({"MULTI"}) == status("OK"));
  CHECK(c.cmd({"SET", "{acct7}balance", "100"}) == status("QUEUED"));
  CHECK(c.cmd({"INCRBY", "{acct7}balance", "-30"}) == status("QUEUED"));
  CHECK(c.cmd({"RPUSH", "{acct7}log", "debit 30"}) == status("QUEUED"));
  CHECK(c.cmd({"GET", "{acct7}balance"}) == status("QUEUED"));
  CHECK(c.cmd({"EXEC"}) == array({status("OK"), integer(70), integer(1), bulk("70")}));
  const size_t owner = cluster.ownerOf("acct7");
  CHECK(cluster.shard(owner).client().cmd({"GET", "{acct7}balance"}) == bulk("70"));
  CHECK(cluster.shard(owner).client().cmd({"LLEN", "{acct7}log"}) == integer(1));

  // DISCARD drops what was queued.
  CHECK(c.cmd({"MULTI"}) == status("OK"));
  CHECK(c.cmd({"SET", "{acct7}balance", "0"}) == status("QUEUED"));
  CHECK(c.cmd({"DISCARD"}) == status("OK"));
  CHECK(c.cmd({"GET", "{acct7}balance"}) == bulk("70"));
  CHECK(c.cmd({"PING"}) == status("PONG"));
}

TEST_CASE("commands: WATCH sees a change made by another client, EXEC answers nil",
          "[commands][transaction]") {
  ShardedCluster cluster(suiteOptions());
  Client c1 = cluster.client();
  Client c2 = cluster.client();
  CHECK(c1.cmd({"SET", "w:k", "start"}) == status("OK"));
  CHECK(c1.cmd({"WATCH", "w:k"}) == status("OK"));
  CHECK(c2.cmd({"SET", "w:k", "other"}) == status("OK"));
  CHECK(c1.cmd({"MULTI"}) == status("OK"));
  CHECK(c1.cmd({"SET", "w:k", "mine"}) == status("QUEUED"));
  CHECK(c1.cmd({"EXEC"}) == nil());
  CHECK(c1.cmd({"GET", "w:k"}) == bulk("other"));

  // Without a conflict the watched transaction commits.
  CHECK(c1.cmd({"WATCH", "w:k"}) == status("OK"));
  CHECK(c1.cmd({"MULTI"}) == status("OK"));
  CHECK(c1.cmd({"SET", "w:k", "mine"}) == status("QUEUED"));
  CHECK(c1.cmd({"EXEC"}) == array({status("OK")}));
  CHECK(c2.cmd({"GET", "w:k"}) == bulk("mine"));
}

// The shard drops the connection that carries WATCH (the proxy's link reconnects by
// itself): the WATCH is gone on the shard, so the transaction must not commit over a change
// it would have caught. Found by reading the code after a fuzz run; Redis would have closed
// the client's own connection.
TEST_CASE("commands: a transaction whose shard connection dropped after WATCH is refused",
          "[commands][transaction]") {
  ShardedCluster cluster(suiteOptions());
  Client c1 = cluster.client();
  Client direct = cluster.shard(cluster.ownerOf("w:lost")).client();
  CHECK(c1.cmd({"SET", "w:lost", "start"}) == status("OK"));
  CHECK(c1.cmd({"WATCH", "w:lost"}) == status("OK"));
  // Every normal client of the shard but `direct` (the proxy's link among them).
  CHECK(direct.cmd({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).integer >= 1);
  CHECK(direct.cmd({"SET", "w:lost", "other"}) == status("OK"));
  const Reply multi = c1.cmd({"MULTI"});
  const Reply queued = c1.cmd({"SET", "w:lost", "mine"});
  const Reply exec = c1.cmd({"EXEC"});
  INFO("MULTI " << multi.describe() << ", SET " << queued.describe() << ", EXEC " << exec.describe());
  CHECK(exec.isError());
  CHECK(exec.str.find("EXECABORT") == 0);
  CHECK(direct.cmd({"GET", "w:lost"}) == bulk("other"));  // neither committed nor run early
  // The session is usable again: a new transaction commits.
  CHECK(c1.cmd({"MULTI"}) == status("OK"));
  CHECK(c1.cmd({"SET", "w:lost", "again"}) == status("QUEUED"));
  CHECK(c1.cmd({"EXEC"}) == array({status("OK")}));
  CHECK(direct.cmd({"GET", "w:lost"}) == bulk("again"));
}

TEST_CASE("commands: a key on another shard inside MULTI is refused and EXEC aborts",
          "[commands][transaction]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  const uint32_t tagShard = cluster.ownerOf("{a}x");
  const std::string elsewhere = cluster.keyOnShard((tagShard + 1) % 3, "txother:");
  CHECK(c.cmd({"MULTI"}) == status("OK"));
  CHECK(c.cmd({"SET", "{a}x", "1"}) == status("QUEUED"));
  CHECK(c.cmd({"SET", elsewhere, "1"}) == errorReply(kCrossSlot));
  Reply exec = c.cmd({"EXEC"});
  INFO("EXEC replied " << exec);
  CHECK(exec.type == ReplyType::Error);
  CHECK(exec.str.rfind("EXECABORT", 0) == 0);
  CHECK(c.cmd({"GET", "{a}x"}) == nil());
  CHECK(c.cmd({"GET", elsewhere}) == nil());
  CHECK(c.cmd({"SET", elsewhere, "after"}) == status("OK"));  // the session is usable again
  CHECK(c.cmd({"GET", elsewhere}) == bulk("after"));
}

TEST_CASE("commands: a client that waits for each reply inside MULTI (redis-cli style)",
          "[commands][transaction]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client();
  // Client::cmd sends one command and reads its reply before the next, as redis-cli does:
  // the keyless PING must be answered +QUEUED before any shard is known.
  CHECK(c.cmd({"MULTI"}) == status("OK"));
  CHECK(c.cmd({"PING"}) == status("QUEUED"));
  CHECK(c.cmd({"SET", "cli:k", "v"}) == status("QUEUED"));
  CHECK(c.cmd({"EXEC"}) == array({status("PONG"), status("OK")}));
  CHECK(cluster.shard(cluster.ownerOf("cli:k")).client().cmd({"GET", "cli:k"}) == bulk("v"));
}

TEST_CASE("commands: BLPOP is woken by another client's LPUSH while other clients are served",
          "[commands][blocking]") {
  ShardedCluster cluster(suiteOptions());
  Client blocker = cluster.client(10000ms);
  Client pinger = cluster.client(2000ms);
  Client pusher = cluster.client();
  const std::string q = "bq:1";
  {
    BackgroundCall blpop(blocker, {"BLPOP", q, "0"});
    REQUIRE(waitBlocked(cluster, q));
    const auto start = std::chrono::steady_clock::now();
    int pongs = 0;
    for (int i = 0; i < 50; ++i) pongs += pinger.cmd({"PING"}).isStatus("PONG") ? 1 : 0;
    const long long pingMs = elapsedMs(start);
    const bool stillBlocked = !blpop.done();
    CHECK(pongs == 50);
    CHECK(stillBlocked);  // the 50 PINGs completed while BLPOP was blocked
    CHECK(pingMs < 2000);
    CHECK(pusher.cmd({"LPUSH", q, "job1"}) == integer(1));
    CHECK(blpop.reply() == array({bulk(q), bulk("job1")}));
  }
  CHECK(blocker.cmd({"PING"}) == status("PONG"));
  CHECK(pusher.cmd({"LLEN", q}) == integer(0));
}

TEST_CASE("commands: a pipelined BLPOP + PING get both replies, in order, after the LPUSH",
          "[commands][blocking]") {
  ShardedCluster cluster(suiteOptions());
  Client c = cluster.client(10000ms);
  Client pusher = cluster.client();
  const std::string q = "bq:2";
  c.append({"BLPOP", q, "0"});
  c.append({"PING"});
  REQUIRE(c.flush());
  REQUIRE(waitBlocked(cluster, q));
  CHECK(pusher.cmd({"LPUSH", q, "x"}) == integer(1));
  CHECK(c.getReply() == array({bulk(q), bulk("x")}));
  CHECK(c.getReply() == status("PONG"));
  // While BLPOP blocked, the proxy kept reading behind the held PING; what the client sends
  // after the wake-up must be read as sent: each command once, none replayed.
  CHECK(c.cmd({"INCR", "bq:2:n"}) == integer(1));
  CHECK(c.cmd({"INCR", "bq:2:n"}) == integer(2));
  CHECK(pusher.cmd({"GET", "bq:2:n"}) == bulk("2"));
}

TEST_CASE("commands: BLPOP's own timeout outlasts backend.timeout_ms", "[commands][blocking]") {
  ProxyOptions opts = suiteOptions();
  opts.timeoutMs = 500;
  ShardedCluster cluster(opts);
  Client c = cluster.client(5000ms);
  const auto start = std::chrono::steady_clock::now();
  Reply r = c.cmd({"BLPOP", "bq:3", "1.5"});
  const long long ms = elapsedMs(start);
  INFO("BLPOP bq:3 1.5 replied " << r << " after " << ms << " ms");
  CHECK(r == nil());
  CHECK(ms >= 1400);
  CHECK(ms < 3000);
  CHECK(c.cmd({"PING"}) == status("PONG"));
  // An ordinary command on the same session still gets the short backend timeout path.
  CHECK(c.cmd({"SET", "bq:after", "v"}) == status("OK"));
}

TEST_CASE("commands: CLIENT UNBLOCK with the blocked client's CLIENT ID ends its BLPOP",
          "[commands][blocking]") {
  ShardedCluster cluster(suiteOptions());
  Client blocked = cluster.client(10000ms);
  Client other = cluster.client();
  Reply id = blocked.cmd({"CLIENT", "ID"});
  REQUIRE(id.type == ReplyType::Integer);
  const std::string q = "bq:4";
  {
    BackgroundCall blpop(blocked, {"BLPOP", q, "0"});
    REQUIRE(waitBlocked(cluster, q));
    // The shard blocks a moment before ringproxy has read its link's CLIENT ID; a client of
    // the proxy sees the block through the proxy's own INFO, and from then on UNBLOCK works.
    REQUIRE(waitUntil([&] { return infoField(other.cmd({"INFO", "clients"}).str, "blocked_clients") == 1; },
                      5000ms, 5ms));
    CHECK(other.cmd({"CLIENT", "UNBLOCK", std::to_string(id.integer)}) == integer(1));
    CHECK(blpop.reply() == nil());
    CHECK(blpop.elapsed() < 5000);
  }
  CHECK(waitBlocked(cluster, q, 0));
  CHECK(infoField(other.cmd({"INFO", "clients"}).str, "blocked_clients") == 0);
  CHECK(other.cmd({"CLIENT", "UNBLOCK", std::to_string(id.integer)}) == integer(0));
  CHECK(blocked.cmd({"PING"}) == status("PONG"));
}
