#!/usr/bin/env bash
# Installs (idempotently) every Debian 12 package ringproxy's build, tests and benchmarks
# need. Runs apt only when something is missing. Needs root (or sudo) on a fresh machine.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libhiredis-dev libyaml-cpp-dev prometheus-cpp-dev catch2
  # TLS for clients and shards (OpenSSL through memory BIOs; tests make a CA with openssl)
  libssl-dev openssl
  redis-server redis-tools nutcracker curl procps util-linux python3 python3-redis
  # deploy tests: promtool (metrics lint, alert rules) and a real Prometheus scrape;
  # python3-yaml parses the compose, Grafana and Kubernetes files.
  prometheus python3-yaml
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
