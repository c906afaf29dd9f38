# Shared by scripts/bench-migration.sh and scripts/bench-cache.sh (sourced): a temp dir,
# redis-servers on free loopback ports, and a cleanup that stops, by PID, every process
# recorded in PIDS.
#   bench_init NAME             DIR = a fresh temp dir; the EXIT trap stops PIDS, removes DIR
#   start_shards N [ARGS...]    N redis-servers (extra ARGS each); their ports in SHARDS
#   freeport                    a free TCP port on 127.0.0.1
PIDS=()
SHARDS=()
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
bench_cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
bench_init() {
  DIR=$(mktemp -d "/tmp/rp-bench-$1.XXXXXX")
  trap bench_cleanup EXIT
}
start_shards() {
  local n=$1 i p
  shift
  for i in $(seq 1 "$n"); do
    p=$(freeport); SHARDS+=("$p")
    redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --logfile "$DIR/r$i.log" "$@" &
    PIDS+=($!)
  done
  for p in "${SHARDS[@]}"; do until redis-cli -p "$p" ping >/dev/null 2>&1; do sleep 0.1; done; done
}
