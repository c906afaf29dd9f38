// FakeShards: loopback TCP "Redis" shards behind fuzz_session's proxy Worker, all served by
// one harness thread (a poll loop). Each connection frames the requests the proxy sends
// and answers every one with what its script derives from (input seed, shard, request
// number on the connection, request bytes), so a saved input replays the same replies:
//  - Proper: replies shaped like Redis's for that command (MULTI/EXEC bookkeeping, MGET
//    arrays, SCAN cursors, subscription confirmations and the odd published message, ...);
//  - Typed: arbitrary well-formed RESP2 values of any type and nesting, whatever the command
//    (subscriptions are still confirmed, else the client would wait forever, as it would on
//    a real shard that never confirms);
//  - Hostile: Proper, but some requests get garbage, a reply cut short then a close, or a
//    bare close.
// A request is never left unanswered (bytes or a close), so no proxy request waits for its
// timeout and one input runs in milliseconds. Connections close with SO_LINGER 0 (RST):
// a Worker per input opens several, and TIME_WAIT would exhaust loopback ports within
// seconds.
// Owned by fuzz_session.cpp (one instance per process). Not coverage-instrumented: only
// the proxy's code should steer libFuzzer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace fuzz {

enum class ShardScript : uint32_t { Proper, Typed, Hostile };

class FakeShards {
 public:
  explicit FakeShards(size_t count);
  ~FakeShards();
  FakeShards(const FakeShards&) = delete;
  FakeShards& operator=(const FakeShards&) = delete;

  size_t count() const { return ports_.size(); }
  uint16_t port(size_t shard) const { return ports_[shard]; }
  // Connections accepted from now on follow this script. Called before each input's Worker
  // starts; the previous input's connections are closed by then.
  void setScript(ShardScript script, uint64_t seed);

 private:
  void run();

  std::vector<int> listeners_;
  std::vector<uint16_t> ports_;
  int wake_[2] = {-1, -1};  // a byte on wake_[1] stops the loop
  std::atomic<uint32_t> script_{0};
  std::atomic<uint64_t> seed_{0};
  std::thread thread_;
};

}  // namespace fuzz
