#!/usr/bin/env bash
# The test command: prepares the environment, then runs the whole suite on SQLite and again
# on PostgreSQL, then the replica test against a real primary and streaming replica
# (scripts/replica-test.sh). A PostgreSQL run that cannot reach its server fails; it never skips.
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
export DENGJI_TEST_PG_URL="${DENGJI_TEST_PG_URL:-postgres://dengji:dengji@127.0.0.1:5432/postgres}"

# Each test makes a database of its own (dengji_t_…); the ones this run made are dropped
# afterwards, pass or fail, so repeated runs do not fill the disk. Best effort: needs psql.
test_databases() {
  psql -qtAX "$DENGJI_TEST_PG_URL" \
    -c "SELECT datname FROM pg_database WHERE datname LIKE 'dengji\_t\_%' ORDER BY 1" 2>/dev/null || true
}
before="$(test_databases)"
status=0
DENGJI_TEST_DATABASE=postgres run_suite || status=$?
comm -13 <(printf '%s\n' "$before") <(test_databases) | while read -r db; do
  [ -n "$db" ] && psql -qX "$DENGJI_TEST_PG_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
done
[ "$status" -eq 0 ] || exit "$status"

echo "== streaming replica (a primary and a replica of it on loopback)"
bash scripts/replica-test.sh
