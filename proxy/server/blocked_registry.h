// BlockedRegistry: which client sessions are blocked in a command on a dedicated backend
// connection, and that connection's client id on the shard, so CLIENT UNBLOCK <proxy id>
// from any client (on any worker) can be turned into CLIENT UNBLOCK <shard id> on the
// right shard. Process-wide, behind a mutex: touched only when a blocking command starts
// or ends, never on the ordinary request path.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace proxy {

struct BlockedEntry {
  uint32_t shard = 0;
  int64_t backendClientId = -1;
};

class BlockedRegistry {
 public:
  static BlockedRegistry& instance();
  void add(uint64_t clientId, BlockedEntry entry);
  void remove(uint64_t clientId);
  std::optional<BlockedEntry> find(uint64_t clientId) const;
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, BlockedEntry> entries_;
};

}  // namespace proxy
