#!/bin/sh
# Nightly backup with retention: /usr/local/lib/dengji/backup.sh (run by dengji-backup.service).
# Writes BACKUP_DIR/dengji-YYYYMMDD-HHMMSS.EXT (mode 0600; EXT "dump" for PostgreSQL, which
# `dengji backup` writes with pg_dump, "db" for SQLite) and deletes backups older than
# KEEP_DAYS days. The key file is NOT copied here: keep it apart from the backups (another
# disk, a safe) — a backup is unreadable without it and useless to a thief without it.
set -eu
BACKUP_DIR=${BACKUP_DIR:-/var/backups/dengji}
KEEP_DAYS=${KEEP_DAYS:-30}
EXT=${BACKUP_EXT:-dump}
umask 077
mkdir -p "$BACKUP_DIR"
out="$BACKUP_DIR/dengji-$(date +%Y%m%d-%H%M%S).$EXT"
dengji backup --output "$out"
# An empty or missing backup fails the run, which `systemctl status dengji-backup` shows.
test -s "$out"
find "$BACKUP_DIR" -maxdepth 1 -name 'dengji-*' -type f -mtime +"$KEEP_DAYS" -delete
