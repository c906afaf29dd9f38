// Process: fork/exec, signals by PID, bounded reaping; see process.h.
// Called by the support classes (RedisServer, Proxy, Nutcracker) and tests.
#include "tests/support/process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/support/temp_dir.h"

namespace testsupport {

namespace {

std::mutex& registryMutex() {
  static std::mutex m;
  return m;
}

std::vector<const Process*>& registry() {
  static std::vector<const Process*> r;
  return r;
}

// In the child: wire output to the log, die with the parent, exec. Never returns.
[[noreturn]] void execChild(const std::vector<std::string>& argv, int logFd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // parent already gone
  ::setpgid(0, 0);  // own process group: a terminal ^C to the test does not hit it twice
  int devNull = ::open("/dev/null", O_RDONLY);
  if (devNull >= 0) ::dup2(devNull, STDIN_FILENO);
  ::dup2(logFd, STDOUT_FILENO);
  ::dup2(logFd, STDERR_FILENO);
  ::close_range(3, ~0U, 0);  // no inherited sockets (client connections, other logs)
  // The parent blocked every signal around fork(): put back default handlers (Catch2's
  // fatal-signal handlers must never run in the child), then unblock.
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  dprintf(STDERR_FILENO, "execv %s failed: %s\n", args[0], std::strerror(errno));
  ::_exit(127);
}

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Process::Process(std::vector<std::string> argv, std::string logPath, bool dumpOnFailure)
    : argv_(std::move(argv)), logPath_(std::move(logPath)), dumpOnFailure_(dumpOnFailure) {
  if (argv_.empty()) throw std::invalid_argument("Process: empty argv");
  int logFd = ::open(logPath_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (logFd < 0) throw std::runtime_error("cannot open log " + logPath_);
  pid_t parent = ::getpid();
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);  // a signal sent early waits for exec
  pid_ = ::fork();
  if (pid_ == 0) execChild(argv_, logFd, parent);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(logFd);
  if (pid_ < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (dumpOnFailure_) {
    std::lock_guard<std::mutex> lock(registryMutex());
    registry().push_back(this);
  }
}

Process::~Process() {
  if (dumpOnFailure_) {
    std::lock_guard<std::mutex> lock(registryMutex());
    auto& r = registry();
    r.erase(std::remove(r.begin(), r.end(), this), r.end());
  }
  stop();
}

std::string Process::log() const { return readFile(logPath_); }

std::string Process::logTail(size_t maxLines) const { return tailFile(logPath_, maxLines); }

std::string Process::describe() const {
  return argv_[0] + " (pid " + std::to_string(pid_) + ")";
}

bool Process::reap(bool block) {
  if (exitCode_) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exitCode_ = decodeStatus(status);
    return true;
  }
  if (r < 0) {
    exitCode_ = -1;  // not our child any more (should not happen): treat as gone
    return true;
  }
  return false;
}

bool Process::running() { return pid_ > 0 && !reap(false); }

void Process::kill(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exitCode_;
}

int Process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (running()) {
    ::kill(pid_, SIGTERM);
    ::kill(pid_, SIGCONT);  // a SIGSTOPped child only acts on SIGTERM once continued
    if (!wait(grace)) {
      ::kill(pid_, SIGKILL);
      reap(true);
    }
  }
  return exitCode_.value_or(-1);
}

RunResult runToCompletion(std::vector<std::string> argv, const std::string& logPath,
                          std::chrono::milliseconds timeout) {
  RunResult result;
  {
    Process p(std::move(argv), logPath);
    auto code = p.wait(timeout);
    if (!code) {
      result.timedOut = true;
      code = p.stop(std::chrono::milliseconds(1000));
    }
    result.exitCode = *code;
  }
  result.output = readFile(logPath);
  return result;
}

std::vector<const Process*> processesToDumpOnFailure() {
  std::lock_guard<std::mutex> lock(registryMutex());
  return registry();
}

}  // namespace testsupport
