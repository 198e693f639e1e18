#!/usr/bin/env bash
# Installs what is missing, builds an optimised binary and runs `parley serve`
# on the embedded SQLite store (data under ./data, http://127.0.0.1:8080).
# Extra arguments go to `parley serve`, e.g. scripts/run.sh --port 9000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake --preset release >/dev/null
cmake --build --preset release
exec ./build/release/parley serve "$@"
