// fuzz_session: libFuzzer target for a whole client session: the input is what a client
// sends; behind the proxy are fake shards (fake_shards.h). Runs the real worker, session
// and dispatch code (proxy::Worker, ClientSession, pool::BackendConnection, fan-outs,
// transactions, blocking commands, pub/sub), in process:
//   1. a fresh Worker per input (its own io_context thread, backend connections to the
//      fake shards), so no state leaks from one input into the next and a saved input
//      replays on its own;
//   2. a ClientSession posted to it on one end of a socketpair; the harness is the client
//      on the other end (session_client.h) and writes the input in 1-4 chunks, waiting
//      until the proxy has read each one, while reading every reply;
//   3. it hangs up; the session must be closed and released, then the Worker stops.
// Checks, besides "no crash, no sanitizer report, no leak":
//  - after an input of whole requests, the proxy answers a PING sent behind them (where
//    nothing legitimately stops it: no QUIT, no open MULTI, default limits, no AUTH, no
//    pub/sub link a hostile shard may cut);
//  - after a protocol error (same conditions), the last reply is "-ERR Protocol error..."
//    and the proxy closes the connection by itself;
//  - after the client hangs up, the proxy closes its end, and the session is released (every
//    request it sent got its callback) within 2 s.
// The limits profile, the fake shards' script and the chunk boundaries derive from a hash of
// the input, so corpus files are plain client bytes and every saved input reproduces.
// Built by tests/fuzz/CMakeLists.txt (RP_FUZZ=ON, clang); run by scripts/fuzz.sh.

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/config_loader.h"
#include "fake_shards.h"
#include "fuzz_common.h"
#include "proxy/command/command_table.h"
#include "proxy/log.h"
#include "proxy/resp/request_parser.h"
#include "proxy/server/client_session.h"
#include "proxy/server/worker.h"
#include "session_client.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using fuzz::FakeClient;
using fuzz::ShardScript;
using SessionRef = std::weak_ptr<proxy::ClientSession>;

constexpr size_t kShards = 3;  // enough for MGET/DEL/SCAN to span shards
constexpr auto kCheckWait = 2s;  // three waits stay under scripts/fuzz.sh's per-input -timeout (10 s)

// Config profiles, picked per input: Default (6 in 8; the strict checks apply only here),
// Auth (client AUTH required), Tight (tiny limits). Shard scripts: Proper 5 in 8, Typed 2,
// Hostile 1.
enum class Profile { Default, Auth, Tight };

struct Plan {
  uint64_t seed = 0;
  Profile profile = Profile::Default;
  ShardScript script = ShardScript::Proper;
  std::vector<size_t> cuts;  // ends of the chunks written, ascending, the last == size
};

// What the input is, read as the proxy's parser will read it (same limits).
struct Shape {
  resp::ParseStatus end = resp::ParseStatus::Complete;  // Complete: only whole requests
  bool quit = false;
  bool multi = false;
  bool subscribe = false;
};

Plan makePlan(const uint8_t* data, size_t size) {
  Plan p;
  uint64_t rng = fuzz::hashBytes(data, size);
  p.seed = fuzz::nextRandom(rng);
  const uint64_t profile = fuzz::nextRandom(rng) % 8;
  p.profile = profile < 6 ? Profile::Default : profile == 6 ? Profile::Auth : Profile::Tight;
  const uint64_t script = fuzz::nextRandom(rng) % 8;
  p.script = script < 5 ? ShardScript::Proper : script < 7 ? ShardScript::Typed : ShardScript::Hostile;
  // Half the inputs in one write; the rest cut at 1-3 points (partial requests, the
  // session's leftover buffer, reads that resume mid-argument).
  const size_t chunks = fuzz::nextRandom(rng) % 2 == 0 ? 1 : 2 + fuzz::nextRandom(rng) % 3;
  for (size_t i = 1; i < chunks && size > 1; ++i) p.cuts.push_back(1 + fuzz::nextRandom(rng) % (size - 1));
  p.cuts.push_back(size);
  std::sort(p.cuts.begin(), p.cuts.end());
  p.cuts.erase(std::unique(p.cuts.begin(), p.cuts.end()), p.cuts.end());
  return p;
}

fuzz::FakeShards& fakeShards() {
  static fuzz::FakeShards shards(kShards);
  return shards;
}

std::shared_ptr<const config::ProxyConfig> makeConfig(const Plan& p) {
  auto cfg = std::make_shared<config::ProxyConfig>();
  uint64_t rng = p.seed;
  cfg->threads = 1;
  cfg->metrics.enabled = false;
  cfg->cluster.enabled = false;
  // A safety net only: the fake shards answer every request, or close, at once.
  cfg->backend.timeoutMs = 500;
  cfg->backend.connectTimeoutMs = 500;
  cfg->backend.connections = fuzz::nextRandom(rng) % 4 == 0 ? 2 : 1;
  for (size_t i = 0; i < kShards; ++i) {
    cfg->shards.push_back({"s" + std::to_string(i), {"127.0.0.1", fakeShards().port(i)}, 1, std::nullopt});
  }
  if (p.profile == Profile::Default) cfg->commands.allow = {"keys", "flushdb", "flushall", "config|set"};
  if (p.profile == Profile::Auth) {
    cfg->auth.requirepass = "secret";  // both in tests/fuzz/dict/session.dict
    cfg->auth.users = {{"alice", "wonderland"}};
  }
  if (p.profile == Profile::Tight) {
    // Caps small enough for inputs of a few hundred bytes to reach every limit path.
    auto& l = cfg->limits;
    l.clientMaxPending = 1 + static_cast<uint32_t>(fuzz::nextRandom(rng) % 8);
    l.clientMaxOutputBytes = 64 + fuzz::nextRandom(rng) % 4096;
    l.maxBulkBytes = 1 + fuzz::nextRandom(rng) % 64;
    l.maxArgs = 1 + static_cast<uint32_t>(fuzz::nextRandom(rng) % 8);
    l.maxRequestBytes = 32 + fuzz::nextRandom(rng) % 2048;
    cfg->backend.maxPending = 1 + static_cast<uint32_t>(fuzz::nextRandom(rng) % 4);
    cfg->backend.maxBufferBytes = 32 + fuzz::nextRandom(rng) % 1024;
  }
  return cfg;
}

proxy::RoutingSnapshot snapshotFor(std::shared_ptr<const config::ProxyConfig> cfg) {
  // Every profile has the same shards: one ring serves all inputs.
  static const std::shared_ptr<const routing::HashRing> ring = [&] {
    std::string error;
    auto built = routing::HashRing::build(config::ringShards(*cfg), cfg->ring, &error);
    FUZZ_CHECK(built != nullptr, "ring: %s", error.c_str());
    return built;
  }();
  proxy::RoutingSnapshot s;
  s.config = std::move(cfg);
  s.ring = ring;
  return s;
}

Shape shapeOf(const uint8_t* data, size_t size, const config::LimitsConfig& l) {
  resp::Limits limits;  // as ClientSession builds them
  limits.maxBulkBytes = l.maxBulkBytes;
  limits.maxArgs = l.maxArgs;
  resp::RequestParser parser(limits);
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  Shape s;
  for (size_t off = 0; off < size;) {
    const resp::ParseResult r = parser.parse(in.substr(off));
    if (r.status != resp::ParseStatus::Complete) {
      s.end = r.status;
      break;
    }
    off += r.consumed;
    if (parser.argc() == 0) continue;
    std::string name(parser.arg(0));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    s.quit |= name == "quit";
    s.multi |= name == "multi";
    s.subscribe |= name.find("subscribe") != std::string::npos;
  }
  return s;
}

// Runs `fn` on the worker's thread (the only thread that may touch its sessions).
template <typename Fn>
auto onWorker(proxy::Worker& worker, Fn fn) {
  std::promise<decltype(fn())> result;
  boost::asio::post(worker.ioc(), [&] { result.set_value(fn()); });
  return result.get_future().get();
}

SessionRef startSession(proxy::Worker& worker, int fd) {
  static uint64_t nextId = 1;
  const uint64_t id = nextId++;
  return onWorker(worker, [&worker, fd, id] {
    boost::asio::ip::tcp::socket socket(worker.ioc());
    boost::system::error_code ec;
    socket.assign(boost::asio::ip::tcp::v4(), fd, ec);
    FUZZ_CHECK(!ec, "assigning the socketpair end: %s", ec.message().c_str());
    auto session = std::make_shared<proxy::ClientSession>(worker, std::move(socket), id);
    SessionRef ref = session;
    worker.addSession(std::move(session));
    return ref;
  });
}

bool awaitingReplies(proxy::Worker& worker, const SessionRef& ref) {
  return onWorker(worker, [&] {
    const auto s = ref.lock();
    return s && !s->closed() && s->awaitingReplies();
  });
}

// Whole requests: a PING sent behind them must be answered (its argument is a marker no
// input can predict).
void expectPing(FakeClient& client, size_t inputSize) {
  static uint64_t counter = 0;
  const std::string marker = "rp-fuzz-sentinel-" + std::to_string(++counter);
  client.watchFor(marker);
  const std::string ping = "*2\r\n$4\r\nPING\r\n$" + std::to_string(marker.size()) + "\r\n" + marker + "\r\n";
  client.write(ping, Clock::now() + kCheckWait);
  const auto outcome = client.readUntil([&] { return client.markerSeen(); }, Clock::now() + kCheckWait);
  FUZZ_CHECK(outcome == FakeClient::Outcome::Done,
             "after %zu bytes of whole requests the proxy %s instead of answering PING; "
             "%llu bytes received, ending: %s",
             inputSize,
             outcome == FakeClient::Outcome::Eof ? "closed the connection" : "stayed silent for 2 s",
             static_cast<unsigned long long>(client.received()), fuzz::printable(client.tail()).c_str());
}

// A protocol error: the last reply is Redis's error, then the proxy closes by itself.
void expectProtocolError(FakeClient& client) {
  const auto outcome = client.readUntil([] { return false; }, Clock::now() + kCheckWait);
  FUZZ_CHECK(outcome == FakeClient::Outcome::Eof,
             "the proxy did not close the connection within 2 s of a protocol error; ending: %s",
             fuzz::printable(client.tail()).c_str());
  const std::string_view tail = client.tail();
  const size_t last = tail.size() >= 2 ? tail.rfind("\r\n", tail.size() - 3) : std::string_view::npos;
  const std::string_view reply = last == std::string_view::npos ? tail : tail.substr(last + 2);
  FUZZ_CHECK(reply.starts_with("-ERR Protocol error") && reply.ends_with("\r\n"),
             "after a protocol error the last reply is not -ERR Protocol error...; ending: %s",
             fuzz::printable(tail.substr(tail.size() > 200 ? tail.size() - 200 : 0)).c_str());
}

// No strict expectation: give the proxy a moment to answer what it read (so replies reach
// a live session, not only a closed one), then go on.
void letItAnswer(FakeClient& client, proxy::Worker& worker, const SessionRef& session) {
  const auto deadline = Clock::now() + 50ms;
  while (!client.eof() && Clock::now() < deadline) {
    if (client.allConsumed() && !awaitingReplies(worker, session)) break;
    client.pump(100us);
  }
}

void converse(FakeClient& client, const Plan& plan, std::string_view input, proxy::Worker& worker,
              const SessionRef& session) {
  const Shape shape = shapeOf(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                              worker.snapshot().config->limits);
  const bool strict = plan.profile == Profile::Default && !shape.quit && !shape.multi &&
                      !(shape.subscribe && plan.script == ShardScript::Hostile);
  size_t from = 0;
  bool open = true;
  for (size_t cut : plan.cuts) {
    open = client.write(input.substr(from, cut - from), Clock::now() + kCheckWait);
    if (!open) break;  // closed early (QUIT, a limit): nothing more to say
    from = cut;
    if (cut < input.size()) client.waitConsumed(10ms);  // false: it paused reading; fine
  }
  if (strict && shape.end == resp::ParseStatus::Complete) return expectPing(client, input.size());
  // Pushes may follow the error reply of a subscribed client (they bypass the FIFO).
  if (strict && shape.end == resp::ParseStatus::Error && !shape.subscribe) return expectProtocolError(client);
  letItAnswer(client, worker, session);
}

void waitReleased(proxy::Worker& worker) {
  const auto deadline = Clock::now() + kCheckWait;
  while (onWorker(worker, [&] { return worker.sessionCount(); }) != 0) {
    FUZZ_CHECK(Clock::now() < deadline,
               "a closed session was not released within 2 s: some request it sent never got its callback");
    std::this_thread::sleep_for(50us);
  }
}

proxy::ProcessStats& processStats() {
  static proxy::ProcessStats stats;
  stats.workers = 1;
  stats.port = 6380;
  if (!stats.connectedClients) stats.connectedClients = [] { return size_t{1}; };
  if (!stats.totalCommands) stats.totalCommands = [] { return uint64_t{0}; };
  return stats;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A closed client or a lost shard logs a warning; thousands a second would bury
  // libFuzzer's own output.
  logx::setLevel(logx::Level::Error);
  std::signal(SIGPIPE, SIG_IGN);
  fakeShards();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Plan plan = makePlan(data, size);
  if (std::getenv("FUZZ_SESSION_TRACE") != nullptr) {  // see fake_shards.cpp
    std::fprintf(stderr, "[plan] profile %d script %d chunks %zu\n", static_cast<int>(plan.profile),
                 static_cast<int>(plan.script), plan.cuts.size());
  }
  fakeShards().setScript(plan.script, plan.seed);
  proxy::Worker worker(0, snapshotFor(makeConfig(plan)), cmd::allCommands().size());
  worker.setProcessStats(&processStats());
  worker.start();
  int fds[2];
  FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair: errno %d", errno);
  const SessionRef session = startSession(worker, fds[1]);
  {
    FakeClient client(fds[0]);
    converse(client, plan, std::string_view(reinterpret_cast<const char*>(data), size), worker, session);
    client.hangUp();
    const auto outcome = client.readUntil([] { return false; }, Clock::now() + kCheckWait);
    FUZZ_CHECK(outcome == FakeClient::Outcome::Eof,
               "the proxy kept the connection open 2 s after the client hung up; ending: %s",
               fuzz::printable(client.tail()).c_str());
  }
  waitReleased(worker);
  worker.stop();
  return 0;
}
