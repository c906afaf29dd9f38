// Client: a blocking hiredis connection used by tests to talk to ringproxy, nutcracker or
// a redis-server directly. Reply: an owned copy of a redisReply (no hiredis lifetimes leak).
// Owns: one redisContext (freed in the destructor).
// Called by: every integration test and the readiness polls of RedisServer/Proxy/Nutcracker.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

struct redisContext;

namespace testsupport {

enum class ReplyType { Nil, Status, Error, Integer, String, Array, IoError };

struct Reply {
  ReplyType type = ReplyType::Nil;
  std::string str;          // Status / Error / String text; IoError: hiredis errstr
  long long integer = 0;    // Integer
  std::vector<Reply> elements;  // Array

  bool isError() const { return type == ReplyType::Error || type == ReplyType::IoError; }
  bool isNil() const { return type == ReplyType::Nil; }
  bool isString(const std::string& s) const { return type == ReplyType::String && str == s; }
  bool isStatus(const std::string& s) const { return type == ReplyType::Status && str == s; }
  bool isInteger(long long v) const { return type == ReplyType::Integer && integer == v; }
  // Readable one-line form for assertion messages: "\"v\"", "(integer) 3", "(error) ERR x".
  std::string describe() const;
};

// Exact equality (type, text, integer, elements): lets tests write
// CHECK(c.cmd({"GET", "k"}) == bulk("v")) and see both replies when it fails.
bool operator==(const Reply& a, const Reply& b);
std::ostream& operator<<(std::ostream& os, const Reply& r);

// Expected-reply builders for such comparisons.
Reply status(const std::string& s);
Reply bulk(const std::string& s);
Reply integer(long long v);
Reply nil();
Reply array(std::vector<Reply> elements);
Reply errorReply(const std::string& s);
std::ostream& operator<<(std::ostream& os, ReplyType t);

class Client {
 public:
  // Connects to 127.0.0.1:port; `timeout` bounds connect and every later read/write.
  // Throws std::runtime_error when the connection fails.
  explicit Client(uint16_t port,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // nullopt instead of throwing when nothing accepts the connection.
  static std::optional<Client> tryConnect(
      uint16_t port, std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

  // One command (binary-safe arguments). An I/O failure yields ReplyType::IoError and
  // leaves the client broken (see ok(), reconnect()).
  Reply cmd(const std::vector<std::string>& args);

  // Pipelining: append queues a command locally; flush writes every queued byte without
  // reading; getReply flushes then reads the next reply in order.
  void append(const std::vector<std::string>& args);
  bool flush();
  Reply getReply();

  bool ok() const;            // no I/O error so far
  std::string error() const;  // hiredis errstr ("" when ok)
  uint16_t port() const { return port_; }
  void reconnect();           // drops the context and connects again (throws on failure)

 private:
  void connect();

  redisContext* ctx_ = nullptr;
  uint16_t port_ = 0;
  std::chrono::milliseconds timeout_;
};

}  // namespace testsupport
