#!/bin/sh
# A backup of the loyalty database in pg_dump's custom format, the one pg_restore reads.
# Run daily by deploy/systemd/loyalty-backup.timer (with /etc/loyalty/env), or by hand:
#
#   DATABASE_URL=postgres://loyalty:...@127.0.0.1:5432/loyalty deploy/backup.sh /var/backups/loyalty
#
# Keeps LOYALTY_BACKUP_KEEP_DAYS days (default 14) in the directory. Copy the files to another
# machine too (restic, rsync, object storage): a backup on the database's own disk is not one.
# README "Backups and the restore drill" shows how to restore one and check it.
set -eu
directory="${1:-${LOYALTY_BACKUP_DIR:-/var/backups/loyalty}}"
keep_days="${LOYALTY_BACKUP_KEEP_DAYS:-14}"
: "${DATABASE_URL:?DATABASE_URL is not set (the services read it from /etc/loyalty/env)}"
mkdir -p "$directory"
name="loyalty-$(date -u +%Y%m%dT%H%M%SZ).dump"
# Written under another name and renamed once complete: a .dump file that exists is whole.
pg_dump --format=custom --dbname="$DATABASE_URL" --file="$directory/$name.partial"
mv "$directory/$name.partial" "$directory/$name"
find "$directory" -maxdepth 1 -name 'loyalty-*.dump' -mtime +"$keep_days" -delete
echo "backup: $directory/$name"
