#!/usr/bin/env bash
# Adapter for ../shared/bench (compare.sh / cost.sh): writes a ringproxy config for the
# harness's $PORT and $BACKENDS into $PROXY_DIR and execs the proxy in the foreground.
#   RP_THREADS   worker threads (default 1; 0 = one per core)
#   RP_BIN       proxy binary (default build/ringproxy)
#   RP_DIST      vnodes | ketama (default vnodes)
set -euo pipefail
: "${PORT:?PORT not set}" "${BACKENDS:?BACKENDS not set}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
dir=${PROXY_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ringproxy-bench.XXXXXX")}
conf=$dir/ringproxy.yaml
{
  echo "listen: 127.0.0.1:$PORT"
  echo "threads: ${RP_THREADS:-1}"
  echo "log_level: warn"
  echo "metrics:"
  echo "  enabled: false"
  echo "ring:"
  echo "  distribution: ${RP_DIST:-vnodes}"
  echo "  hash: fnv1a_64"
  echo "shards:"
  i=0
  for b in ${BACKENDS//,/ }; do
    echo "  - name: s$i"
    echo "    address: $b"
    i=$((i + 1))
  done
} >"$conf"
exec "${RP_BIN:-$ROOT/build/ringproxy}" --config "$conf"
