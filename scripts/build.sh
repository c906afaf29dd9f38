#!/usr/bin/env bash
# Configures and builds ringproxy with ninja into build/ (or $BUILD_DIR).
#   scripts/build.sh               Release build of everything (proxy + tests)
#   RP_SANITIZE=ON scripts/build.sh   ASan+UBSan build (use BUILD_DIR=build-asan)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BUILD_TYPE=${BUILD_TYPE:-Release}
cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DRP_SANITIZE="${RP_SANITIZE:-OFF}" >/dev/null
ninja -C "$BUILD_DIR" "$@"
echo "build: $BUILD_DIR/ringproxy"
