// Process: one child process (redis-server, nutcracker, ringproxy) started with fork/exec.
// Owns: the child's PID until it is reaped, and the log file its stdout+stderr go to.
// The destructor always stops the child (SIGTERM, bounded wait, SIGKILL): tests never
// kill anything by name. Children also get PR_SET_PDEATHSIG(SIGKILL) so a crashed or
// timed-out test binary leaves nothing running.
// Called by: RedisServer, Proxy, Nutcracker, and tests that run `ringproxy --check`.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace testsupport {

class Process {
 public:
  // Starts argv[0] (a path, no PATH lookup) with the given argv; output appended to
  // logPath. dumpOnFailure: print the log tail when a test assertion fails while this
  // process is alive (see failure_log_listener.cpp). Throws if fork fails.
  Process(std::vector<std::string> argv, std::string logPath, bool dumpOnFailure = false);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& logPath() const { return logPath_; }
  std::string log() const;
  std::string logTail(size_t maxLines = 40) const;
  // Human-readable "argv[0] (pid N)" for messages.
  std::string describe() const;

  // True while the child has not exited (a SIGSTOPped child is still running).
  bool running();
  // Sends a signal to the child by PID (SIGSTOP, SIGCONT, SIGKILL...). No-op once reaped.
  void kill(int sig);
  // SIGTERM (plus SIGCONT in case it is stopped), wait up to `grace`, then SIGKILL.
  // Returns the exit code (128+signal when killed by a signal).
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Waits up to `timeout` for the child to exit on its own; exit code or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // Exit code once reaped.
  std::optional<int> exitCode() const { return exitCode_; }

 private:
  bool reap(bool block);

  std::vector<std::string> argv_;
  std::string logPath_;
  pid_t pid_ = -1;
  std::optional<int> exitCode_;
  bool dumpOnFailure_ = false;
};

// Runs a command to completion (bounded by `timeout`, then killed), capturing output.
struct RunResult {
  int exitCode = -1;
  bool timedOut = false;
  std::string output;  // stdout + stderr interleaved
};
RunResult runToCompletion(std::vector<std::string> argv, const std::string& logPath,
                          std::chrono::milliseconds timeout);

// Live processes whose logs should be shown when an assertion fails.
std::vector<const Process*> processesToDumpOnFailure();

}  // namespace testsupport
