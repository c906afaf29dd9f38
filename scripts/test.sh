#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test with ctest.
#   scripts/test.sh              Release build in build/
#   scripts/test.sh --asan       ASan+UBSan build in build-asan/ (CI runs this one)
#   scripts/test.sh --asan-unit  the same build dir, only the unit-test binaries built and
#                                run (no ringproxy, no "e2e:" tests): a quick check
#   scripts/test.sh --tsan       ThreadSanitizer build in build-tsan/
# Sanitizer builds are RelWithDebInfo with -O1 -g1 (see SANITIZER_OPT below).
# Further arguments go to ctest, e.g. scripts/test.sh --tsan -R '^e2e:'.
# Called by: developers, .ci/run.
#
# Under a sanitizer, every instrumented process (the test binaries and each ringproxy they
# start) writes its reports into $BUILD_DIR/sanitizer-reports/, and any report fails the
# run. Needed because the harness only warns when a proxy exits non-zero on stop, and its
# log lives in a temp dir that is deleted: a leak or a race reported at proxy exit would
# otherwise pass unseen.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install-deps.sh"

MODE=${1:-}
case $MODE in
  --asan | --asan-unit | --tsan) shift ;;
  *) MODE="" ;;
esac
REPORTS=""
CTEST_FILTER=()
# Sanitizer builds use -O1 -g1 instead of RelWithDebInfo's -O2 -g: it halves their compile
# time (measured: 35 s -> 18 s for one e2e test file, 25 s -> 14 s for client_session.cpp),
# -O1 is the level ASan's documentation recommends, and -g1 still gives file:line in
# every report.
SANITIZER_OPT=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
case $MODE in
  --asan | --asan-unit)
    export BUILD_DIR=$ROOT/build-asan RP_SANITIZE=ON BUILD_TYPE=RelWithDebInfo
    # build.sh's own configure keeps these cached flags.
    cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" "${SANITIZER_OPT[@]}" -DRP_SANITIZE=ON >/dev/null
    REPORTS=$BUILD_DIR/sanitizer-reports
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$REPORTS/asan
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$REPORTS/ubsan
    ;;
  --tsan)
    # No RP_SANITIZE-like option for TSan in CMakeLists.txt: the flags go in through the
    # cache of a build dir of its own (build.sh's later configure keeps them).
    export BUILD_DIR=$ROOT/build-tsan BUILD_TYPE=RelWithDebInfo
    cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" "${SANITIZER_OPT[@]}" \
      -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
      -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread >/dev/null
    REPORTS=$BUILD_DIR/sanitizer-reports
    # halt_on_error=0: collect every race in one run rather than stop at the first.
    export TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1:log_path=$REPORTS/tsan
    ;;
esac
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BUILD_TARGETS=()
if [[ $MODE == --asan-unit ]]; then
  # Only the unit-test binaries: ringproxy and integration_tests are most of an ASan build.
  # Listed from the configured tree (configured above) so that a new tests/ binary is
  # picked up by itself.
  mapfile -t BUILD_TARGETS < <(ninja -C "$BUILD_DIR" -t targets all |
    sed -n 's#^\(tests/[A-Za-z0-9_]*\): CXX_EXECUTABLE_LINKER.*#\1#p' |
    grep -vx 'tests/integration_tests' | sort -u)
  # e2e tests need ringproxy; an unbuilt binary leaves a placeholder "<target>_NOT_BUILT-" test.
  CTEST_FILTER=(-E '^e2e:|_NOT_BUILT-')
fi
"$ROOT/scripts/build.sh" "${BUILD_TARGETS[@]}"
if [[ -n $REPORTS ]]; then
  rm -rf "$REPORTS"
  mkdir -p "$REPORTS"
fi
cd "$BUILD_DIR"
status=0
ctest --output-on-failure -j2 --timeout 600 "${CTEST_FILTER[@]}" "$@" || status=$?

if [[ -n $REPORTS ]] && compgen -G "$REPORTS/*" >/dev/null; then
  echo "test: sanitizer reports in $REPORTS:"
  grep -h '^SUMMARY:' "$REPORTS"/* | sort | uniq -c | sort -rn
  for f in "$REPORTS"/*; do
    echo "==== $f"
    head -80 "$f"
  done
  status=1
fi
exit $status
