#!/usr/bin/env bash
# A real PostgreSQL primary and a streaming replica of it on loopback (ports 5491 and 5492,
# throw-away clusters under a temp dir, trust authentication on loopback only), then the
# replica test of the suite against them (tests/it/replicas.rs): lists read from the replica,
# a user's own writes from the primary. Run as root (the clusters run as the postgres user)
# on a machine with PostgreSQL 15 installed; scripts/test.sh runs it after the two suites.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
primary_port=5491
replica_port=5492
work=$(mktemp -d /tmp/dengji-replica.XXXXXX)
chown postgres: "$work"
as_pg() { su postgres -s /bin/bash -c "$*"; }

stop() {
  for d in replica primary; do
    [ -f "$work/$d/postmaster.pid" ] && as_pg "'$bin/pg_ctl' -D '$work/$d' -m immediate stop" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap stop EXIT

as_pg "'$bin/initdb' -D '$work/primary' -A trust -U postgres --encoding=UTF8 --locale=C.UTF-8" >/dev/null
cat >> "$work/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $primary_port
unix_socket_directories = '$work'
wal_level = replica
max_wal_senders = 4
fsync = off
EOF
# Loopback only, no password: these clusters live for this script.
cat > "$work/primary/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
EOF
as_pg "'$bin/pg_ctl' -D '$work/primary' -l '$work/primary.log' -w start" >/dev/null

# The replica: a base backup of the primary that streams from it (-R writes
# primary_conninfo and standby.signal).
as_pg "'$bin/pg_basebackup' -h 127.0.0.1 -p $primary_port -U postgres -D '$work/replica' -R -X stream" >/dev/null
sed -i "s/^port = $primary_port/port = $replica_port/" "$work/replica/postgresql.conf"
as_pg "'$bin/pg_ctl' -D '$work/replica' -l '$work/replica.log' -w start" >/dev/null
in_recovery=$(psql -qtAX "postgres://postgres@127.0.0.1:$replica_port/postgres" -c "SELECT pg_is_in_recovery()")
[ "$in_recovery" = t ] || { echo "the replica is not in recovery" >&2; exit 1; }
echo "primary on $primary_port, streaming replica on $replica_port"

export DENGJI_TEST_DATABASE=postgres
export DENGJI_TEST_PG_URL="postgres://postgres@127.0.0.1:$primary_port/postgres"
export DENGJI_TEST_REPLICA_URL="postgres://postgres@127.0.0.1:$replica_port"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --run-ignored ignored-only -E 'test(/^replicas::/)'
else
  cargo test --test it -- --ignored replicas::
fi
