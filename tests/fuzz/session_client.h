// FakeClient: the client end of fuzz_session's connection (one end of a socketpair; the
// proxy's ClientSession owns the other). It writes the input chunk by chunk and can wait
// until the proxy has read a chunk, so a chunk boundary really is a read boundary on the
// proxy's side. It reads every reply byte whenever it waits, so the proxy never stalls on
// a full socket because of the harness. It keeps only the tail of the output, and watches
// for one marker (the sentinel PING's argument).
// Owned by fuzz_session.cpp, one per input. Not coverage-instrumented.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace fuzz {

class FakeClient {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Outcome { Done, Eof, Deadline };

  explicit FakeClient(int fd) : fd_(fd) {}
  ~FakeClient();
  FakeClient(const FakeClient&) = delete;
  FakeClient& operator=(const FakeClient&) = delete;

  // Writes all of `bytes`, reading replies meanwhile. False when the proxy closed the
  // connection (or the deadline passed) first.
  bool write(std::string_view bytes, Clock::time_point deadline);
  // True once the proxy has read every byte written so far (the socket's send queue is
  // empty); false if it has not within `maxWait` (it stopped reading: paused or closing).
  bool waitConsumed(std::chrono::microseconds maxWait);
  // Reads until done() holds (checked after every read), EOF, or the deadline.
  Outcome readUntil(const std::function<bool()>& done, Clock::time_point deadline);
  // Waits up to `timeout` for something to read (or, with wantWrite, room to write), then
  // reads whatever is there.
  void pump(std::chrono::microseconds timeout, bool wantWrite = false);
  // shutdown(SHUT_WR): the proxy reads EOF, as when a client disconnects.
  void hangUp();

  void watchFor(std::string marker) { marker_ = std::move(marker); }
  bool markerSeen() const { return markerSeen_; }
  bool eof() const { return eof_; }
  bool allConsumed() const;
  std::string_view tail() const { return tail_; }
  uint64_t received() const { return received_; }

 private:
  void drain();
  void keep(const char* data, size_t n);

  int fd_;
  bool eof_ = false;
  std::string tail_;
  std::string marker_;
  bool markerSeen_ = false;
  uint64_t received_ = 0;
};

// The bytes with CR, LF and non-printables escaped, for failure messages.
std::string printable(std::string_view bytes, size_t max = 300);

}  // namespace fuzz
