#!/usr/bin/env bash
# Benchmarks ringproxy beside twemproxy and direct Redis with ../shared/bench:
#   scripts/bench.sh compare [compare.sh options]   throughput/latency matrix (default --quick)
#   scripts/bench.sh cost [cost.sh options]         instructions and syscalls per request
#   scripts/bench.sh migrate                        live rebalancing: keys/s, latency during
#   scripts/bench.sh cache                          L1 cache, hot keys, hot-key copies
#   scripts/bench.sh all                            compare and cost
# ringproxy runs twice: with threads: 1 (rp-1t) and the default one-per-core (rp-nt).
# Loopback only; every process is stopped by the harness by process group.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH_DIR:-$ROOT/../shared/bench}
[[ -x $BENCH/compare.sh ]] || { echo "bench: harness not found at $BENCH (set BENCH_DIR)" >&2; exit 1; }
"$ROOT/scripts/install-deps.sh" >/dev/null
command -v valgrind >/dev/null && command -v strace >/dev/null || {
  apt-get install -y --no-install-recommends valgrind strace >/dev/null; }
"$ROOT/scripts/build.sh" ringproxy >/dev/null

RP1="RP_THREADS=1 exec $ROOT/scripts/bench-proxy.sh"
RPN="RP_THREADS=0 exec $ROOT/scripts/bench-proxy.sh"
mode=${1:-all}
shift || true
case $mode in
  compare)
    "$BENCH/compare.sh" --proxy direct --proxy twemproxy --proxy rp-1t="$RP1" --proxy rp-nt="$RPN" \
      --baseline twemproxy "${@:---quick}" ;;
  cost)
    "$BENCH/cost.sh" --proxy twemproxy --proxy rp-1t="$RP1" "$@" ;;
  migrate)
    exec "$ROOT/scripts/bench-migration.sh" ;;
  cache)
    exec "$ROOT/scripts/bench-cache.sh" ;;
  all)
    "$0" compare "$@"
    "$0" cost ;;
  *) echo "usage: scripts/bench.sh compare|cost|migrate|cache|all [harness options]" >&2; exit 2 ;;
esac
