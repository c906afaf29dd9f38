// ShardLink: one blocking hiredis connection from a migrator thread to a shard, plus the
// small reply and key helpers the migrator needs. Internal to proxy/migration (not for the data
// path, which is asynchronous).
// Owns: one redisContext. Any I/O failure closes it, because hiredis cannot resynchronize a
// stream after a timeout; callers just connect() again.
// Called by: SourceWorker (proxy/migration/source_worker.cpp), on its own thread only.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/migration/migrator.h"

namespace mig {

using Argv = std::vector<std::string>;

struct ReplyFree {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

// The bytes of a string/status/error reply; empty for the other types.
std::string_view replyText(const redisReply* r);
bool isStatus(const redisReply* r, std::string_view s);
// Short one-line form for log lines ("-ERR ...", "+OK", "(nil)", never a whole value).
std::string describeReply(const redisReply* r);
// A whole-string unsigned decimal (SCAN cursors).
bool parseU64(std::string_view s, uint64_t* out);
// A key for a log line: at most the first 100 bytes, non-printables as \xHH.
std::string printableKey(std::string_view key);

class ShardLink {
 public:
  ShardLink() = default;
  ~ShardLink() { reset(); }
  ShardLink(const ShardLink&) = delete;
  ShardLink& operator=(const ShardLink&) = delete;

  // Connects with `timeoutMs` for the connect and every later command, then AUTHs
  // (AUTH user pw when a username is set, AUTH pw when only a password is).
  bool connect(const ShardEndpoint& ep, uint32_t timeoutMs, std::string* error);
  bool connected() const { return ctx_ != nullptr; }
  // Why the last command or pipeline failed.
  const std::string& error() const { return error_; }

  // nullptr after an I/O failure (the link is then closed).
  ReplyPtr command(const Argv& argv);
  // Writes every command, then reads every reply: one round trip. Empty on I/O failure.
  std::vector<ReplyPtr> pipeline(const std::vector<Argv>& commands);
  void reset();
  // For a caller that reads pushed messages itself (the invalidation subscriber polls the
  // socket and feeds hiredis's reader); null when not connected.
  redisContext* context() const { return ctx_; }

 private:
  bool authenticate(const ShardEndpoint& ep, std::string* error);
  std::vector<ReplyPtr> broken();

  redisContext* ctx_ = nullptr;
  std::string error_;
};

}  // namespace mig
