#!/usr/bin/env bash
# README command 1: install what is missing, build, start three local redis-server shards
# (127.0.0.1:7001-7003) and ringproxy on deploy/ringproxy.yaml in the foreground.
# Ctrl-C stops everything this script started (by PID).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh" ringproxy

DATA=$(mktemp -d "${TMPDIR:-/tmp}/ringproxy-run.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$DATA"
}
trap cleanup EXIT INT TERM

for port in 7001 7002 7003; do
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    echo "run: port $port is already in use; stop what runs there first" >&2
    exit 1
  fi
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$DATA" --daemonize no >"$DATA/redis-$port.log" 2>&1 &
  PIDS+=($!)
done
for port in 7001 7002 7003; do
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done

echo "run: shards on 127.0.0.1:7001-7003 (logs in $DATA)"
echo "run: connect with:  redis-cli -p 6380      metrics: curl 127.0.0.1:9121/metrics"
echo "run: Ctrl-C stops the proxy and the shards"
"$ROOT/build/ringproxy" --config "$ROOT/deploy/ringproxy.yaml" &
PIDS+=($!)
wait "${PIDS[-1]}" || true
