// A Catch2 event listener that prints the log tail of every live proxy/nutcracker process
// (Process created with dumpOnFailure) the first time an assertion fails in a test case,
// so a CI failure shows what ringproxy said without re-running anything.
// Owns: the set of logs already dumped for the current test case.
// Called by: Catch2 (registered below); reads testsupport::processesToDumpOnFailure().
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <iostream>
#include <set>
#include <string>

#include "tests/support/process.h"

namespace testsupport {

class FailureLogListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    dumped_.clear();
    TestEventListenerBase::testCaseStarting(info);
  }

  bool assertionEnded(Catch::AssertionStats const& stats) override {
    if (!stats.assertionResult.isOk()) dumpLogs();
    return true;
  }

 private:
  void dumpLogs() {
    for (const Process* p : processesToDumpOnFailure()) {
      if (!dumped_.insert(p->logPath()).second) continue;
      std::cerr << "---- " << p->describe() << " log tail (" << p->logPath() << ") ----\n"
                << p->logTail(40) << "\n---- end of log ----\n";
    }
  }

  std::set<std::string> dumped_;
};

CATCH_REGISTER_LISTENER(FailureLogListener)

}  // namespace testsupport
