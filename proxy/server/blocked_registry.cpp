// Process-wide registry of clients blocked through the proxy (see the header).
#include "proxy/server/blocked_registry.h"

namespace proxy {

BlockedRegistry& BlockedRegistry::instance() {
  static BlockedRegistry registry;
  return registry;
}

void BlockedRegistry::add(uint64_t clientId, BlockedEntry entry) {
  std::lock_guard lock(mutex_);
  entries_[clientId] = entry;
}

void BlockedRegistry::remove(uint64_t clientId) {
  std::lock_guard lock(mutex_);
  entries_.erase(clientId);
}

std::optional<BlockedEntry> BlockedRegistry::find(uint64_t clientId) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(clientId);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

size_t BlockedRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace proxy
