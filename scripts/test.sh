#!/usr/bin/env bash
# The test command: prepares the environment, then runs the whole suite on SQLite and again
# on PostgreSQL. A PostgreSQL run that cannot reach its server fails; it never skips.
# Uses cargo-nextest when it is installed (parallel, one process per test), else cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-env.sh

run_suite() {
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --no-fail-fast
  else
    echo "(cargo-nextest not installed: running cargo test)"
    cargo test --no-fail-fast
  fi
}

echo "== test suite on SQLite"
DENGJI_TEST_DATABASE=sqlite run_suite

echo "== test suite on PostgreSQL"
DENGJI_TEST_DATABASE=postgres \
DENGJI_TEST_PG_URL="${DENGJI_TEST_PG_URL:-postgres://dengji:dengji@127.0.0.1:5432/postgres}" \
  run_suite
