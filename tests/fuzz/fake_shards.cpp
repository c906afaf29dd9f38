// FakeShards: the poll loop, request framing and the three reply scripts (see fake_shards.h).
// Called by: fuzz_session.cpp only.
#include "fake_shards.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_common.h"

namespace fuzz {
namespace {

using Args = std::vector<std::string_view>;
constexpr size_t kBad = static_cast<size_t>(-1);

// RESP2 writers of the harness's own: the proxy's resp_writer must get coverage only from
// the proxy.
void simple(std::string& o, std::string_view s) { o.append("+").append(s).append("\r\n"); }
void error(std::string& o, std::string_view s) { o.append("-").append(s).append("\r\n"); }
void integer(std::string& o, int64_t v) { o.append(":").append(std::to_string(v)).append("\r\n"); }
void bulk(std::string& o, std::string_view s) {
  o.append("$").append(std::to_string(s.size())).append("\r\n").append(s).append("\r\n");
}
void nullBulk(std::string& o) { o.append("$-1\r\n"); }
void array(std::string& o, size_t n) { o.append("*").append(std::to_string(n)).append("\r\n"); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <size_t N>
std::string_view pick(const std::array<std::string_view, N>& options, uint64_t& rng) {
  return options[nextRandom(rng) % N];
}

// "<type><integer>\r?" at pos. Like Redis, the byte after '\r' is skipped unread: the proxy
// forwards what its parser (Redis's rules) accepted, and a shard must take it the same way.
enum class Step { Ok, More, Bad };
Step header(std::string_view b, size_t& pos, char type, int64_t& value) {
  if (pos >= b.size()) return Step::More;
  if (b[pos] != type) return Step::Bad;
  const size_t cr = b.find('\r', pos + 1);
  if (cr == std::string_view::npos) return b.size() - pos > 32 ? Step::Bad : Step::More;
  if (cr + 2 > b.size()) return Step::More;
  const auto [end, ec] = std::from_chars(b.data() + pos + 1, b.data() + cr, value);
  if (ec != std::errc() || end != b.data() + cr) return Step::Bad;
  pos = cr + 2;
  return Step::Ok;
}

// One multibulk request at the start of `b`: the bytes it spans (args filled), 0 while
// incomplete, kBad when it is not a multibulk (the proxy re-encodes inline commands, so
// that would be a proxy bug; the shard answers as Redis would and closes).
size_t frameRequest(std::string_view b, Args& args) {
  args.clear();
  size_t pos = 0;
  int64_t n = 0;
  Step s = header(b, pos, '*', n);
  if (s != Step::Ok) return s == Step::More ? 0 : kBad;
  for (int64_t i = 0; i < n; ++i) {
    int64_t len = 0;
    s = header(b, pos, '$', len);
    if (s != Step::Ok) return s == Step::More ? 0 : kBad;
    if (len < 0) return kBad;
    if (b.size() - pos < static_cast<size_t>(len) + 2) return 0;
    args.push_back(b.substr(pos, static_cast<size_t>(len)));
    pos += static_cast<size_t>(len) + 2;
  }
  return pos;
}

struct Conn {
  int fd = -1;
  size_t shard = 0;
  ShardScript script = ShardScript::Proper;
  uint64_t seed = 0;
  uint64_t requests = 0;
  std::string in;
  std::string out;
  bool closing = false;  // close once `out` is written
  bool mute = false;     // sent garbage: the proxy drops this connection, answer nothing more
  bool multi = false;
  size_t queued = 0;
  int64_t subscriptions = 0;
};

// Any RESP2 value, nested up to three levels: what a fan-out merge or a dedicated
// connection's handshake must survive when a shard answers something unexpected.
void typedValue(std::string& o, uint64_t& rng, int depth) {
  static constexpr std::array<std::string_view, 5> kErrors{
      "ERR fake", "WRONGTYPE Operation against a key holding the wrong kind of value",
      "MOVED 1 127.0.0.1:1", "NOSCRIPT No matching script", "BUSYKEY Target key name already exists."};
  static constexpr std::array<std::string_view, 8> kBulks{
      "", "v", "0", "7", "message", "subscribe", "a\r\nb",
      "# Keyspace\r\ndb0:keys=5,expires=1,avg_ttl=0\r\n"};
  static constexpr std::array<int64_t, 7> kInts{0, 1, -1, 42, INT64_MIN, INT64_MAX, int64_t{1} << 40};
  switch (nextRandom(rng) % (depth < 3 ? 9 : 7)) {
    case 0: return simple(o, nextRandom(rng) % 2 ? "OK" : "QUEUED");
    case 1: return error(o, pick(kErrors, rng));
    case 2: return integer(o, kInts[nextRandom(rng) % kInts.size()]);
    case 3: return bulk(o, pick(kBulks, rng));
    case 4: return nullBulk(o);
    case 5: return o.append("*-1\r\n"), void();
    case 6: return o.append("*0\r\n"), void();
    default: {
      const size_t n = 1 + nextRandom(rng) % 4;
      array(o, n);
      for (size_t i = 0; i < n; ++i) typedValue(o, rng, depth + 1);
    }
  }
}

bool isSubscribe(std::string_view name) {
  return name == "subscribe" || name == "psubscribe" || name == "ssubscribe" || name == "unsubscribe" ||
         name == "punsubscribe" || name == "sunsubscribe";
}

// Connection-level commands: transactions and the handshakes the proxy itself sends.
bool properConnection(Conn& c, const Args& a, const std::string& name, std::string& o) {
  if (name == "multi") {
    if (c.multi) return error(o, "ERR MULTI calls can not be nested"), true;
    c.multi = true;
    c.queued = 0;
    return simple(o, "OK"), true;
  }
  if (name == "exec" || name == "discard") {
    if (!c.multi) return error(o, "ERR " + lower(name) + " without MULTI"), true;
    c.multi = false;
    if (name == "discard") return simple(o, "OK"), true;
    array(o, c.queued);
    for (size_t i = 0; i < c.queued; ++i) simple(o, "OK");
    return true;
  }
  if (name == "client") {
    const std::string sub = a.size() > 1 ? lower(a[1]) : "";
    if (sub == "id") return integer(o, static_cast<int64_t>(100 + c.shard)), true;
    if (sub == "unblock") return integer(o, 1), true;
    return simple(o, "OK"), true;
  }
  if (name == "watch" || name == "unwatch" || name == "select" || name == "auth") {
    return simple(o, "OK"), true;
  }
  return false;
}

// A confirmation per name, as Redis sends them, and now and then a message on the channel
// just subscribed (forwarded to the client as a push).
void properSubscribe(Conn& c, const Args& a, const std::string& name, uint64_t& rng, std::string& o) {
  const bool unsub = name.find("un") != std::string::npos;
  if (a.size() == 1) {  // the proxy never sends this form; answer it as Redis would
    array(o, 3), bulk(o, name), nullBulk(o), integer(o, c.subscriptions);
    return;
  }
  for (size_t i = 1; i < a.size(); ++i) {
    c.subscriptions = unsub ? (c.subscriptions > 0 ? c.subscriptions - 1 : 0) : c.subscriptions + 1;
    array(o, 3), bulk(o, name), bulk(o, a[i]), integer(o, c.subscriptions);
    if (unsub || nextRandom(rng) % 3 != 0) continue;
    if (name == "psubscribe") {
      array(o, 4), bulk(o, "pmessage"), bulk(o, a[i]), bulk(o, "news.1"), bulk(o, "hello");
    } else {
      array(o, 3), bulk(o, name == "ssubscribe" ? "smessage" : "message"), bulk(o, a[i]), bulk(o, "hello");
    }
  }
}

// Keyspace-wide and management commands (what fan-outs merge).
bool properKeyspace(const Args& a, const std::string& name, uint64_t& rng, std::string& o) {
  const std::string sub = a.size() > 1 ? lower(a[1]) : "";
  if (name == "scan") {
    // A first call continues at cursor 7, the next one ends: the proxy re-encodes both.
    bulk(o, a.size() > 1 && a[1] == "0" ? "7" : "0");
  }
  if (name == "scan" || name == "keys") {
    const size_t n = nextRandom(rng) % 4;
    if (name == "scan") array(o, 2);
    array(o, n);
    for (size_t i = 0; i < n; ++i) bulk(o, "key:" + std::to_string(nextRandom(rng) % 100));
    return true;
  }
  if (name == "dbsize") return integer(o, static_cast<int64_t>(nextRandom(rng) % 10)), true;
  if (name == "randomkey") return nextRandom(rng) % 2 ? bulk(o, "k") : nullBulk(o), true;
  if (name == "info") return bulk(o, "# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n"), true;
  if (name == "script" && sub == "load") return bulk(o, std::string(40, 'a')), true;
  if (name == "script" && sub == "exists") {
    array(o, a.size() - 2);
    for (size_t i = 2; i < a.size(); ++i) integer(o, static_cast<int64_t>(nextRandom(rng) % 2));
    return true;
  }
  if (name == "config" && sub == "get") {
    return array(o, 2), bulk(o, a.size() > 2 ? a[2] : ""), bulk(o, "1"), true;
  }
  if (name == "pubsub") {
    if (sub == "numpat") return integer(o, 1), true;
    if (sub == "numsub" || sub == "shardnumsub") {
      array(o, 2 * (a.size() - 2));
      for (size_t i = 2; i < a.size(); ++i) bulk(o, a[i]), integer(o, 1);
      return true;
    }
    return array(o, 1), bulk(o, "news.1"), true;
  }
  return false;
}

// Data commands, by the shape of their reply.
void properData(const Args& a, const std::string& name, uint64_t& rng, std::string& o) {
  static constexpr std::array<std::string_view, 12> kIntegers{
      "del",    "unlink", "exists",  "touch",    "incr", "decr",
      "incrby", "append", "publish", "spublish", "wait", "expire"};
  static constexpr std::array<std::string_view, 8> kValues{
      "get", "getdel", "getex", "hget", "lpop", "rpop", "getset", "brpoplpush"};
  for (std::string_view n : kIntegers) {
    if (name == n) return integer(o, static_cast<int64_t>(a.size() - 1));
  }
  for (std::string_view n : kValues) {
    if (name == n) return nextRandom(rng) % 4 ? bulk(o, "v" + std::to_string(a.size())) : nullBulk(o);
  }
  if (name == "mget" || name == "hmget") {
    const size_t first = name == "mget" ? 1 : 2;
    array(o, a.size() > first ? a.size() - first : 0);
    for (size_t i = first; i < a.size(); ++i) nextRandom(rng) % 3 ? bulk(o, a[i]) : nullBulk(o);
    return;
  }
  if (name == "blpop" || name == "brpop" || name == "bzpopmin" || name == "bzpopmax") {
    if (nextRandom(rng) % 2) return o.append("*-1\r\n"), void();
    return array(o, 2), bulk(o, a.size() > 1 ? a[1] : ""), bulk(o, "v");
  }
  if (name == "xread" || name == "xreadgroup" || name == "blmpop" || name == "bzmpop") {
    return o.append("*-1\r\n"), void();
  }
  if (name.rfind("eval", 0) == 0 || name.rfind("fcall", 0) == 0) return typedValue(o, rng, 0);
  simple(o, "OK");
}

void proper(Conn& c, const Args& a, const std::string& name, uint64_t& rng, std::string& o) {
  if (c.multi && name != "exec" && name != "discard" && name != "multi" && name != "watch") {
    ++c.queued;
    return simple(o, "QUEUED");
  }
  if (properConnection(c, a, name, o)) return;
  if (isSubscribe(name)) return properSubscribe(c, a, name, rng, o);
  if (properKeyspace(a, name, rng, o)) return;
  properData(a, name, rng, o);
}

// Hostile: garbage that ReplyScanner rejects at once (never an incomplete frame, which
// would only make the proxy wait for its timeout), half a reply then a close, or a close.
void misbehave(Conn& c, const Args& a, const std::string& name, uint64_t& rng) {
  static constexpr std::array<std::string_view, 6> kGarbage{
      "?\r\n", "%1\r\n+a\r\n+b\r\n", ":1x\r\n", "$2\r\nabcd\r\n", "*1\r\n!\r\n", "$-2\r\n"};
  switch (nextRandom(rng) % 3) {
    case 0:
      c.out.append(pick(kGarbage, rng));
      c.mute = true;
      return;
    case 1: {
      std::string full;
      proper(c, a, name, rng, full);
      c.out.append(full, 0, std::max<size_t>(1, full.size() / 2));
      c.closing = true;
      return;
    }
    default:
      c.closing = true;
  }
}

// FUZZ_SESSION_TRACE=1: every request and reply on stderr, to see why a saved input fails.
bool tracing() {
  static const bool on = std::getenv("FUZZ_SESSION_TRACE") != nullptr;
  return on;
}

void trace(const Conn& c, const char* what, std::string_view bytes) {
  std::string text;
  for (char ch : bytes.substr(0, 300)) {
    if (ch == '\r') text += "\\r";
    else if (ch == '\n') text += "\\n";
    else text += (ch >= 0x20 && ch < 0x7f) ? ch : '.';
  }
  std::fprintf(stderr, "[shard s%zu fd %d] %s %s\n", c.shard, c.fd, what, text.c_str());
}

void answer(Conn& c, const Args& a, std::string_view raw) {
  uint64_t rng = c.seed ^ hashBytes(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()) ^
                 ((c.shard + 1) << 56) ^ (c.requests++ * 0x9E3779B97F4A7C15ull);
  const std::string name = lower(a[0]);
  if (c.script == ShardScript::Hostile && nextRandom(rng) % 5 == 0) return misbehave(c, a, name, rng);
  if (c.script == ShardScript::Typed && !isSubscribe(name)) {
    if (nextRandom(rng) % 4 != 0) return typedValue(c.out, rng, 0);
  }
  proper(c, a, name, rng, c.out);
}

void closeConn(Conn& c) {
  if (c.fd >= 0) ::close(c.fd);  // SO_LINGER 0: RST, no TIME_WAIT
  c.fd = -1;
}

void answerAll(Conn& c) {
  Args args;
  std::string_view in(c.in);
  size_t off = 0;
  while (!c.closing && !c.mute && off < in.size()) {
    const size_t used = frameRequest(in.substr(off), args);
    if (used == 0) break;
    if (used == kBad) {
      error(c.out, "ERR Protocol error: the fake shard could not frame this request");
      c.closing = true;
      break;
    }
    if (tracing()) trace(c, "request", in.substr(off, used));
    const size_t before = c.out.size();
    if (!args.empty()) answer(c, args, in.substr(off, used));
    if (tracing()) {
      trace(c, c.closing ? "reply+close" : c.mute ? "garbage" : "reply", std::string_view(c.out).substr(before));
    }
    off += used;
  }
  if (c.closing || c.mute) c.in.clear();
  else c.in.erase(0, off);
}

void flush(Conn& c) {
  while (!c.out.empty()) {
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) return closeConn(c);
    c.out.erase(0, static_cast<size_t>(n));
  }
  if (c.closing) closeConn(c);
}

void serve(Conn& c, short revents) {
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return closeConn(c);  // EOF or reset: the Worker closed this connection
    }
    answerAll(c);
  }
  flush(c);
}

int listenLoopback(uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0, "socket: errno %d", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  FUZZ_CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0, "bind: errno %d", errno);
  FUZZ_CHECK(::listen(fd, 512) == 0, "listen: errno %d", errno);
  FUZZ_CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname: errno %d",
             errno);
  port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

FakeShards::FakeShards(size_t count) {
  for (size_t i = 0; i < count; ++i) {
    uint16_t port = 0;
    listeners_.push_back(listenLoopback(port));
    ports_.push_back(port);
  }
  FUZZ_CHECK(::pipe2(wake_, O_CLOEXEC) == 0, "pipe2: errno %d", errno);
  thread_ = std::thread([this] { run(); });
}

FakeShards::~FakeShards() {
  const char byte = 0;
  (void)!::write(wake_[1], &byte, 1);
  thread_.join();
  for (int fd : listeners_) ::close(fd);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void FakeShards::setScript(ShardScript script, uint64_t seed) {
  script_.store(static_cast<uint32_t>(script));
  seed_.store(seed);
}

void FakeShards::run() {
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    for (int l : listeners_) fds.push_back({l, POLLIN, 0});
    for (auto& c : conns) {
      fds.push_back({c->fd, static_cast<short>(POLLIN | (c->out.empty() ? 0 : POLLOUT)), 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      FUZZ_CHECK(errno == EINTR, "poll: errno %d", errno);
      continue;
    }
    if (fds[0].revents != 0) break;
    const size_t polled = conns.size();
    for (size_t i = 0; i < listeners_.size(); ++i) {
      if ((fds[1 + i].revents & POLLIN) == 0) continue;
      for (int fd; (fd = ::accept4(listeners_[i], nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
        const linger abortive{1, 0};
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<Conn>();
        c->fd = fd;
        c->shard = i;
        c->script = static_cast<ShardScript>(script_.load());
        c->seed = seed_.load();
        conns.push_back(std::move(c));
      }
    }
    for (size_t i = 0; i < polled; ++i) {
      const short revents = fds[1 + listeners_.size() + i].revents;
      if (revents != 0) serve(*conns[i], revents);
    }
    std::erase_if(conns, [](const std::unique_ptr<Conn>& c) { return c->fd < 0; });
  }
  for (auto& c : conns) closeConn(*c);
}

}  // namespace fuzz
