#!/usr/bin/env bash
# Live rebalancing benchmark (scripts/bench.sh migrate): on loopback, 4 redis-servers and
# one ringproxy (3 shards in the ring), KEYS small string keys loaded with redis-benchmark.
#   1. baseline: GET latency (redis-benchmark -c 50 -P 1) with no migration;
#   2. during:  the 4th shard is added with the mover capped at RATE keys/s so the same
#      GET run happens entirely while keys move; reports p50/p99 and the MIGRATE round
#      trips that requests paid (ringproxy_migration_access_migrates_total per GET);
#   3. speed:   the 4th shard is removed, then added again, unthrottled and without load:
#      keys moved per second, from the proxy's cut-over log line.
# Every process is started here and stopped by PID on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KEYS=${KEYS:-400000}
RATE=${RATE:-20000}
GETS=${GETS:-200000}
BIN=$ROOT/build/ringproxy
[[ -x $BIN ]] || "$ROOT/scripts/build.sh" ringproxy >/dev/null
source "$ROOT/scripts/bench-lib.sh"
bench_init mig
start_shards 4
PORTS=("${SHARDS[@]}")
PP=$(freeport); MP=$(freeport)
shard() { echo "  - {name: s$1, address: 127.0.0.1:${PORTS[$(($1 - 1))]}}"; }
write_config() {  # $1 = shard count, $2 = rate
  { echo "listen: 127.0.0.1:$PP"; echo "threads: 2"; echo "metrics: {listen: 127.0.0.1:$MP}"
    echo "backend: {timeout_ms: 5000}"; echo "migration: {batch_keys: 500, max_keys_per_second: $2}"
    echo "shards:"; for i in $(seq 1 "$1"); do shard "$i"; done; } > "$DIR/p.yaml.tmp"
  mv "$DIR/p.yaml.tmp" "$DIR/p.yaml"
}
metric() { curl -s "127.0.0.1:$MP/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
wait_idle() {  # until the migration is over and the epoch reached $1
  for _ in $(seq 1 600); do
    [[ $(metric ringproxy_migration_active) == 0 && $(metric ringproxy_ring_epoch) -ge $1 ]] && return 0
    sleep 0.2
  done
  echo "migration did not finish" >&2; exit 1
}
getbench() { redis-benchmark -p "$PP" -t get -r "$KEYS" -n "$GETS" -c 50 -P 1 --csv | tail -1; }

write_config 3 0
"$BIN" --config "$DIR/p.yaml" 2>"$DIR/proxy.log" & PIDS+=($!)
until redis-cli -p "$PP" ping >/dev/null 2>&1; do sleep 0.1; done
redis-benchmark -p "$PP" -t set -r "$KEYS" -n $((KEYS * 3)) -d 16 -P 64 -c 20 -q >/dev/null
echo "keys loaded: $(redis-cli -p "$PP" dbsize)"
echo "csv: test,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms"
echo "baseline GET: $(getbench)"

epoch=$(metric ringproxy_ring_epoch)
before=$(metric ringproxy_migration_access_migrates_total)
write_config 4 "$RATE"
until [[ $(metric ringproxy_migration_active) == 1 ]]; do sleep 0.05; done
echo "during GET (mover capped at $RATE keys/s): $(getbench)"
still=$(metric ringproxy_migration_active)
after=$(metric ringproxy_migration_access_migrates_total)
echo "migration still active after the run: $still; MIGRATE on access: $((after - before)) for $GETS GETs"
wait_idle $((epoch + 2))

write_config 3 0; wait_idle $((epoch + 4))
write_config 4 0; wait_idle $((epoch + 6))
grep "migration cut-over" "$DIR/proxy.log" | tail -2 | while read -r line; do
  moved=$(sed -n 's/.* moved=\([0-9]*\).*/\1/p' <<<"$line")
  secs=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
  echo "unthrottled: moved $moved keys in ${secs}s = $(python3 -c "print(int($moved / $secs))") keys/s"
done
for i in 1 2 3 4; do echo "s$i dbsize $(redis-cli -p "${PORTS[$((i - 1))]}" dbsize)"; done
