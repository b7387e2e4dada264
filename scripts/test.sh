#!/usr/bin/env bash
# The test command: prepares the environment, then runs the whole suite on SQLite and again
# on PostgreSQL. A PostgreSQL run that cannot reach its server fails; it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-env.sh

echo "== test suite on SQLite"
DENGJI_TEST_DATABASE=sqlite cargo nextest run --no-fail-fast

echo "== test suite on PostgreSQL"
DENGJI_TEST_DATABASE=postgres \
DENGJI_TEST_PG_URL="${DENGJI_TEST_PG_URL:-postgres://dengji:dengji@127.0.0.1:5432/postgres}" \
  cargo nextest run --no-fail-fast
