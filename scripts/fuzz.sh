#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang++, -DRP_FUZZ=ON) into build-fuzz/ and runs
# them for a time budget each, printing executions and exec/s per target.
#   scripts/fuzz.sh TARGET SECONDS   TARGET: request_parser | reply_scanner | config_loader |
#                                    session (the fuzz_ prefix is optional)
#   scripts/fuzz.sh all SECONDS      all four, one after the other
# Each run starts from a scratch copy of tests/fuzz/corpus/<target> plus
# tests/fuzz/regressions/<target> (so every past crash is re-checked first) and never writes
# into the repo. A crash, leak, timeout or failed check makes the exit status non-zero; the
# input is kept in build-fuzz/artifacts/<target>/ to be copied into tests/fuzz/regressions/.
# FUZZ_JOBS=N (default 1) runs N independent fuzzing processes per target sharing one corpus
# (libFuzzer -jobs=N -workers=N: unlike -fork, no restarts, so N cores give ~N times the
# executions).
# FUZZ_TIMEOUT=S (default 10): one input running longer than S seconds is a failure (a hang).
# FUZZ_KEEP_GOING=1 keeps fuzzing past crashes, timeouts and OOMs (each one is still saved
# and still fails the run at the end): for exploring while a known bug is not fixed yet.
# Called by: developers, .ci/run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# libFuzzer ships with clang's runtime; installed here, not by install-deps.sh, so the
# ordinary build and test need no clang.
if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get install -y --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi
ALL=(fuzz_request_parser fuzz_reply_scanner fuzz_config_loader fuzz_session)

usage() {
  echo "usage: scripts/fuzz.sh {request_parser|reply_scanner|config_loader|session|all} SECONDS" >&2
  exit 2
}
[[ $# -eq 2 && $2 =~ ^[0-9]+$ ]] || usage
case $1 in
  all) TARGETS=("${ALL[@]}") ;;
  fuzz_request_parser | fuzz_reply_scanner | fuzz_config_loader | fuzz_session) TARGETS=("$1") ;;
  request_parser | reply_scanner | config_loader | session) TARGETS=("fuzz_$1") ;;
  *) usage ;;
esac
SECONDS_EACH=$2
JOBS=${FUZZ_JOBS:-1}
KEEP_GOING=${FUZZ_KEEP_GOING:-0}
TIMEOUT=${FUZZ_TIMEOUT:-10}

"$ROOT/scripts/install-deps.sh" >/dev/null
BUILD_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
# RelWithDebInfo: optimised enough for a useful exec/s, with line numbers in crash stacks.
# RP_TESTS=OFF: the Catch2 binaries are not fuzz targets and would only slow the build.
cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DRP_FUZZ=ON -DRP_TESTS=OFF >/dev/null
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/ringproxy-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
if ! ninja -C "$BUILD_DIR" "${TARGETS[@]}" >"$SCRATCH/build.log" 2>&1; then
  cat "$SCRATCH/build.log" >&2
  echo "fuzz: build failed" >&2
  exit 1
fi

dict_for() {
  case $1 in
    fuzz_config_loader) echo "$ROOT/tests/fuzz/dict/config.dict" ;;
    fuzz_session) echo "$ROOT/tests/fuzz/dict/session.dict" ;;
    *) echo "$ROOT/tests/fuzz/dict/resp.dict" ;;
  esac
}

failed=()
for t in "${TARGETS[@]}"; do
  corpus=$SCRATCH/$t/corpus
  artifacts=$BUILD_DIR/artifacts/$t
  log=$SCRATCH/$t/log
  mkdir -p "$corpus" "$artifacts"
  cp -R "$ROOT/tests/fuzz/corpus/$t/." "$corpus/"
  if [[ -d $ROOT/tests/fuzz/regressions/$t ]]; then
    cp -R "$ROOT/tests/fuzz/regressions/$t/." "$corpus/"
  fi
  seeds=$(find "$corpus" -type f | wc -l)
  echo "fuzz: $t for ${SECONDS_EACH}s from $seeds seed inputs (jobs: $JOBS)"
  args=(-max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -rss_limit_mb=2048 -print_final_stats=1
    -dict="$(dict_for "$t")" -artifact_prefix="$artifacts/")
  if ((KEEP_GOING)); then
    args+=(-fork="$JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  elif ((JOBS > 1)); then
    args+=(-jobs="$JOBS" -workers="$JOBS")
  fi
  before=$(find "$artifacts" -type f | wc -l)
  # halt_on_error and abort_on_error: a sanitizer report is a crash with a saved input.
  status=0
  (cd "$SCRATCH/$t" &&  # -jobs writes one fuzz-<job>.log per process here
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
      "$BUILD_DIR/fuzz/$t" "${args[@]}" "$corpus" >"$log" 2>&1) || status=$?
  logs=("$log")
  if compgen -G "$SCRATCH/$t/fuzz-*.log" >/dev/null; then logs=("$SCRATCH/$t"/fuzz-*.log); fi
  # Executions: the final stats of each process, else the last status line ("#N") of -fork.
  # "|| true": a run that fails while replaying its seeds prints no status line, and with
  # pipefail a grep without a match would end this script before it reports the failure.
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "${logs[@]}" | awk '{s+=$1} END {print s+0}')
  if ((runs == 0)); then
    runs=$(grep -ohE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
    runs=${runs:-0}
  fi
  speed=$((runs / (SECONDS_EACH > 0 ? SECONDS_EACH : 1)))
  cov=$(grep -ohE 'cov: [0-9]+ ft: [0-9]+' "${logs[@]}" | sort -t' ' -k2,2n | tail -1 || true)
  if ((${#logs[@]} > 1)); then cat "${logs[@]}" >>"$log"; fi
  kept=$(find "$corpus" -type f | wc -l)
  # -fork mode with -ignore_* exits 0 however many inputs failed: count what it saved.
  found=$(($(find "$artifacts" -type f | wc -l) - before))
  if ((status != 0 || found > 0)); then
    echo "fuzz: $t FAILED (exit $status, $found new failing inputs) after $runs executions;" \
      "last 60 log lines:"
    tail -60 "$log"
    echo "fuzz: failing inputs are kept in $artifacts:"
    ls -lt "$artifacts" | head -20
    failed+=("$t")
  else
    echo "fuzz: $t ok: $runs executions in ${SECONDS_EACH}s (~$speed exec/s), ${cov:-cov: ?}, corpus $seeds -> $kept"
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
