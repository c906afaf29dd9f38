// EjectStats: backend.auto_eject's process-wide metrics, per shard (ShardDirectory slot):
// whether the workers route without the shard, and how many times that began. Written by
// proxy::Server on the main thread once every worker runs with a snapshot; read on scrape.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "proxy/metrics/shard_directory.h"

namespace metrics {

struct EjectStats {
  std::array<std::atomic<uint8_t>, ShardDirectory::kMaxSlots> ejected{};
  std::array<std::atomic<uint64_t>, ShardDirectory::kMaxSlots> ejections{};
};

}  // namespace metrics
