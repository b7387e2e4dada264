#!/usr/bin/env bash
# A streaming replica of this machine's PostgreSQL cluster (the one on port 5432, whose
# databases the load runs use), on port 5493, for the load scenario against servers reading
# from a replica (issue 20 item 3). Run as root; `stop` as the argument removes it again.
#
#   scripts/load/replica-of-local.sh          # then: --replica-url postgres://dengji:dengji@127.0.0.1:5493/DB
#   scripts/load/replica-of-local.sh stop
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
# Where the replica's data goes (about the size of the primary's databases).
dir=${DENGJI_REPLICA_DIR:-/var/tmp/dengji-load-replica}
port=5493
as_pg() { su postgres -s /bin/bash -c "$*"; }

if [ "${1:-}" = stop ]; then
  [ -f "$dir/postmaster.pid" ] && as_pg "'$bin/pg_ctl' -D '$dir' -m fast stop" || true
  rm -rf "$dir"
  exit 0
fi

rm -rf "$dir"
# The base backup streams over the local socket as the postgres user (Debian's pg_hba allows
# `local replication all peer`); -R makes it a standby of the primary.
as_pg "'$bin/pg_basebackup' -D '$dir' -R -X stream -p 5432 -c fast"
# Debian keeps the configuration beside, not in, the data directory: give the replica its own.
cat > "$dir/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '/var/run/postgresql'
shared_buffers = 512MB
hot_standby = on
EOF
cp /etc/postgresql/*/main/pg_hba.conf "$dir/pg_hba.conf"
chown postgres: "$dir/postgresql.conf" "$dir/pg_hba.conf"
as_pg "'$bin/pg_ctl' -D '$dir' -l '$dir/log' -w start"
psql -qtAX "postgres://dengji:dengji@127.0.0.1:$port/postgres" -c "SELECT 'replica in recovery: ' || pg_is_in_recovery()"
