#!/usr/bin/env bash
# Installs what is missing, starts PostgreSQL and Redis (scripts/services.sh),
# builds the test suite and runs it: unit tests (GoogleTest, the store suite on
# SQLite and on PostgreSQL) and integration tests that drive the real binary.
#   scripts/test.sh            dev build, the same suite under ASan+UBSan, then
#                              each libFuzzer target for 20 s (clang)
#   scripts/test.sh dev        dev build only
#   scripts/test.sh asan       sanitizer build only
#   scripts/test.sh fuzz       fuzzers only; longer: FUZZ_TIME=600 scripts/test.sh fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

presets=("$@")
if [ ${#presets[@]} -eq 0 ]; then presets=(dev asan fuzz); fi

# Real PostgreSQL and Redis on loopback for the store and cluster tests, stopped
# (by the PIDs they wrote) however this script ends.
services_dir=$(mktemp -d /tmp/parley-services-XXXXXX)
stop_services() {
  bash scripts/services.sh stop "$services_dir" || true
  rm -rf "$services_dir"
}
trap stop_services EXIT
bash scripts/services.sh start "$services_dir" >/dev/null
PARLEY_TEST_POSTGRES_URL=$(sed -n 's/^PARLEY_TEST_POSTGRES_URL=//p' "$services_dir/env")
PARLEY_TEST_REDIS_URL=$(sed -n 's/^PARLEY_TEST_REDIS_URL=//p' "$services_dir/env")
export PARLEY_TEST_POSTGRES_URL PARLEY_TEST_REDIS_URL
export PARLEY_REQUIRE_POSTGRES=1

# Let every clone of the repo share one compiler cache (paths are made relative).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
jobs=$(nproc)
status=0
for preset in "${presets[@]}"; do
  echo "=== ${preset}: configure and build ==="
  extra=()
  if [ "$preset" = fuzz ] && [ -n "${FUZZ_TIME:-}" ]; then extra=(-DFUZZ_TIME="$FUZZ_TIME"); fi
  cmake --preset "$preset" "${extra[@]}" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "=== ${preset}: test ==="
  # Soak tests (label soak) take minutes each: `ctest --test-dir build/dev -L soak`.
  if ! ctest --preset "$preset" -j "$jobs" --timeout 600 -LE soak; then status=1; fi
done
exit $status
