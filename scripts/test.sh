#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test with ctest.
#   scripts/test.sh            Release build in build/
#   scripts/test.sh --asan     ASan+UBSan build in build-asan/
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install-deps.sh"
if [[ ${1:-} == --asan ]]; then
  export BUILD_DIR=$ROOT/build-asan RP_SANITIZE=ON BUILD_TYPE=RelWithDebInfo
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fi
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
"$ROOT/scripts/build.sh"
cd "$BUILD_DIR"
ctest --output-on-failure -j2 --timeout 600
