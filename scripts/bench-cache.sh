#!/usr/bin/env bash
# L1 cache and hot-key benchmark (scripts/bench.sh cache), on loopback, 3 redis-servers:
#   1. hot keys: redis-benchmark GET over 100 keys, -P 16 -c 50, in interleaved rounds:
#      direct Redis (one shard holding all 100), ringproxy without cache, with cache;
#   2. Zipf(0.99) GETs over 1M keys (tests/bench/zipf_load) with the cache on: hit ratio
#      for admit: hot (top_k 64 and 1000) and admit: all;
#   3. the same load with the cache off: each shard's share of backend GETs (INFO
#      commandstats) with hot_key_replication off vs replicas: 2;
#   4. memory: RSS of a proxy whose cache is full (uniform reads over 400k keys) against
#      cache.max_memory.
# Every process is started here and stopped by PID on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
GETS=${GETS:-1000000}
ZIPF_SECONDS=${ZIPF_SECONDS:-12}
BIN=$ROOT/build/ringproxy
LOAD=$ROOT/build/tests/zipf_load
[[ -x $BIN && -x $LOAD ]] || "$ROOT/scripts/build.sh" ringproxy zipf_load >/dev/null
source "$ROOT/scripts/bench-lib.sh"
bench_init cache
start_shards 3 --enable-debug-command local

# start_proxy NAME EXTRA_YAML: a proxy on a fresh port; sets PORT_<NAME>, MPORT_<NAME>, PID_<NAME>.
start_proxy() {
  local name=$1 extra=$2 port mport
  port=$(freeport); mport=$(freeport)
  { echo "listen: 127.0.0.1:$port"; echo "threads: 2"; echo "log_level: warn"
    echo "metrics: {listen: 127.0.0.1:$mport}"; echo "cluster: {enabled: false}"
    echo -e "$extra"; echo "shards:"
    for i in 1 2 3; do echo "  - {name: s$i, address: 127.0.0.1:${SHARDS[$((i - 1))]}}"; done; } > "$DIR/$name.yaml"
  "$BIN" --config "$DIR/$name.yaml" 2>"$DIR/$name.log" & PIDS+=($!)
  printf -v "PORT_$name" %s "$port"; printf -v "MPORT_$name" %s "$mport"; printf -v "PID_$name" %s "$!"
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
}
stop_proxy() { local pid=PID_$1; kill "${!pid}"; wait "${!pid}" 2>/dev/null || true; }
metric() { curl -s "127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
info_field() { redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f {print $2}'; }
rps() { redis-benchmark -p "$1" -t get -r 100 -n "$GETS" -c 50 -P 16 --csv | tail -1 | cut -d, -f2 | tr -d '"'; }
gets_per_shard() { for p in "${SHARDS[@]}"; do
  redis-cli -p "$p" info commandstats | tr -d '\r' | sed -n 's/^cmdstat_get:calls=\([0-9]*\),.*/\1/p' | grep . || echo 0; done; }
# admit: hot caches nothing until keys are hot: wait for the subscribers, then for tracking.
wait_subscribers() {
  for _ in $(seq 1 100); do
    [[ $(info_field "$1" cache cache_subscribers_up) == 3/3 ]] && { sleep 0.3; return 0; }
    sleep 0.1
  done
  echo "the cache's subscribers never came up" >&2; exit 1
}
# Waits until every shard's subscriber is up and tracking is set (a repeated GET hits).
wait_cache() {
  local port=$1 key=$2 before
  for _ in $(seq 1 100); do
    before=$(info_field "$port" cache cache_hits)
    redis-cli -p "$port" get "$key" >/dev/null; redis-cli -p "$port" get "$key" >/dev/null
    [[ $(info_field "$port" cache cache_hits) -gt $before ]] && return 0
    sleep 0.1
  done
  echo "cache never started caching" >&2; exit 1
}

echo "== 1. hot keys: GET over 100 keys, -c 50 -P 16, $GETS requests, $ROUNDS interleaved rounds (req/s)"
start_proxy plain ""
start_proxy cached "cache: {enabled: true, admit: all}"
redis-benchmark -p "$PORT_plain" -t set -r 100 -n 20000 -q >/dev/null
redis-benchmark -p "${SHARDS[0]}" -t set -r 100 -n 20000 -q >/dev/null  # direct: all 100 on one shard
wait_cache "$PORT_cached" key:000000000042
d=0; n=0; c=0
for r in $(seq 1 "$ROUNDS"); do
  a=$(rps "${SHARDS[0]}"); b=$(rps "$PORT_plain"); e=$(rps "$PORT_cached")
  echo "round $r: direct=$a  ringproxy-no-cache=$b  ringproxy-cache=$e"
  d=$(python3 -c "print($d + $a)"); n=$(python3 -c "print($n + $b)"); c=$(python3 -c "print($c + $e)")
done
python3 -c "print(f'mean: direct={$d/$ROUNDS:.0f} no-cache={$n/$ROUNDS:.0f} ({$n/$d:.2f}x direct) cache={$c/$ROUNDS:.0f} ({$c/$d:.2f}x direct)')"
echo "cache hit ratio during the runs: $(info_field "$PORT_cached" cache cache_hit_ratio)"
stop_proxy plain; stop_proxy cached

echo "== 2. Zipf(0.99) over 1M keys, ${ZIPF_SECONDS}s, 2 threads x 16 in flight: hit ratio"
for p in "${SHARDS[@]}"; do redis-cli -p "$p" flushall >/dev/null; redis-cli -p "$p" debug populate 1000000 key 16 >/dev/null; done
zipf() { "$LOAD" "$1" 1000000 "$ZIPF_SECONDS" 2 16 0.99 | sed 's/^/    /'; }
for variant in "hot top_k=64:admit: hot}\nhot_keys: {top_k: 64, min_rate: 100}" \
               "hot top_k=1000:admit: hot}\nhot_keys: {top_k: 1000, min_rate: 20}" \
               "all:admit: all}"; do
  label=${variant%%:*}
  start_proxy zipf "cache: {enabled: true, max_memory: 512MiB, ${variant#*:}"
  wait_subscribers "$PORT_zipf"
  echo "  admit $label:"; zipf "$PORT_zipf"
  echo "    hit ratio $(info_field "$PORT_zipf" cache cache_hit_ratio), hot keys $(info_field "$PORT_zipf" hotkeys hot_keys), entries $(info_field "$PORT_zipf" cache cache_entries)"
  stop_proxy zipf
done

echo "== 3. busiest shard's share of backend GETs, Zipf(0.99), cache off"
for variant in "replication off:hot_keys: {top_k: 64, min_rate: 200}" \
               "replicas 2:hot_keys: {top_k: 64, min_rate: 200}\nhot_key_replication: {replicas: 2}"; do
  label=${variant%%:*}
  start_proxy repl "${variant#*:}"
  "$LOAD" "$PORT_repl" 1000000 3 2 16 0.99 >/dev/null  # let the hot set (and copies) form
  mapfile -t before < <(gets_per_shard)
  echo "  $label:"; zipf "$PORT_repl"
  mapfile -t after < <(gets_per_shard)
  python3 - "${before[@]}" "${after[@]}" <<'PY'
import sys
v = list(map(int, sys.argv[1:])); n = len(v) // 2
d = [v[n + i] - v[i] for i in range(n)]
print(f"    GETs per shard {d}, busiest share {max(d) / sum(d):.3f} (even: {1 / n:.3f})")
PY
  echo "    copies: $(metric "$MPORT_repl" ringproxy_hot_key_replicas)"
  stop_proxy repl
done

echo "== 4. memory: cache full (uniform reads over 400k keys) vs cache.max_memory 64MiB"
start_proxy mem "cache: {enabled: true, admit: all, max_memory: 64MiB}"
wait_cache "$PORT_mem" key:1
rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$PID_mem/status"; }
idle=$(rss)
# A reply is stored from its second read on: read every key several times.
"$LOAD" "$PORT_mem" 400000 $((ZIPF_SECONDS * 2)) 2 32 0 | sed 's/^/    /'
full=$(rss); bytes=$(metric "$MPORT_mem" ringproxy_cache_bytes); entries=$(metric "$MPORT_mem" ringproxy_cache_entries)
python3 -c "m=64*2**20; print(f'    RSS idle {$idle/2**20:.1f} MiB, with the cache full {$full/2**20:.1f} MiB: +{($full-$idle)/2**20:.1f} MiB for max_memory {m/2**20:.0f} MiB ({($full-$idle)/m:.2f}x); cache_bytes {float(\"$bytes\")/2**20:.1f} MiB, entries {float(\"$entries\"):.0f}, evictions $(metric "$MPORT_mem" ringproxy_cache_evictions_total)')"
stop_proxy mem
