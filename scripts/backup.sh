#!/usr/bin/env bash
# Back up the MailMind database.
#
#   DATABASE_URL=postgresql://… scripts/backup.sh
#
# Writes $BACKUP_DIR/backup_YYYYmmdd_HHMMSS.dump (pg_dump custom format, time stamp in UTC) and
# beside it backup_YYYYmmdd_HHMMSS.counts, the row count of every table taken in the same snapshot
# as the dump, which restore-drill.sh compares with the restored copy. Uploads both files to
# $BACKUP_S3_URI when it is set, then deletes local backups older than $BACKUP_RETENTION_DAYS.
# Prints the path of the new dump on standard output; progress goes to standard error.
#
# Environment:
#   DATABASE_URL           the database to back up (required)
#   BACKUP_DIR             where backups are written (default: ./backups)
#   BACKUP_S3_URI          e.g. s3://mailmind-backups/prod: upload with `aws s3 cp` when set
#   BACKUP_RETENTION_DAYS  local backups older than this many days are deleted (default: 14)
#   PG_BIN                 directory of pg_dump, pg_restore and psql (default: chosen per server)
#
# The dump does not contain ENCRYPTION_KEY, without which the stored mail-account credentials
# cannot be decrypted: keep a copy of that key somewhere else.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/pg.sh
source "$here/lib/pg.sh"

[[ -n ${DATABASE_URL:-} ]] || die "DATABASE_URL is not set"
backup_dir=${BACKUP_DIR:-./backups}
retention_days=${BACKUP_RETENTION_DAYS:-14}
[[ $retention_days =~ ^[0-9]+$ ]] || die "BACKUP_RETENTION_DAYS must be a whole number of days"
url=$(pg_normalise_url "$DATABASE_URL")

pg_select_bin "$url"

# The dump holds every message and the encrypted account credentials.
umask 077
mkdir -p -- "$backup_dir"
name=backup_$(date -u +%Y%m%d_%H%M%S)
dump=$backup_dir/$name.dump
counts=$backup_dir/$name.counts
[[ ! -e $dump ]] || die "$dump already exists"
# Written under a hidden name and renamed when complete, so that a failed run never leaves
# something that looks like the newest backup.
partial_dump=$backup_dir/.$name.dump.partial
partial_counts=$backup_dir/.$name.counts.partial
trap 'rm -f -- "$partial_dump" "$partial_counts"' EXIT

# One session exports a snapshot and counts the rows of every table in it; pg_dump then dumps
# that same snapshot, so the counts describe exactly what the dump holds, however busy the
# database is.
coproc SNAP { "$PG_BIN/psql" -X -A -t -q -w -v ON_ERROR_STOP=1 -d "$url"; }
# shellcheck disable=SC2153 # SNAP_PID is set by coproc
snap_pid=$SNAP_PID
printf '%s\n' 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;' \
  'SELECT pg_export_snapshot();' >&"${SNAP[1]}"
IFS= read -r snapshot <&"${SNAP[0]}" || die "could not export a snapshot"
{
  pg_row_counts_sql
  printf '%s\n' "SELECT '--end--';"
} >&"${SNAP[1]}"
complete=0
while IFS= read -r line <&"${SNAP[0]}"; do
  if [[ $line == --end-- ]]; then
    complete=1
    break
  fi
  printf '%s\n' "$line"
done >"$partial_counts"
((complete)) || die "counting rows failed"

log "dumping to $dump"
"$PG_BIN/pg_dump" --format=custom --no-password --snapshot="$snapshot" \
  --file="$partial_dump" --dbname="$url"
printf '%s\n' 'COMMIT;' '\q' >&"${SNAP[1]}"
wait "$snap_pid"

"$PG_BIN/pg_restore" --list "$partial_dump" >/dev/null || die "the new dump cannot be read back"
mv -- "$partial_counts" "$counts"
mv -- "$partial_dump" "$dump"
log "wrote $dump ($(wc -c <"$dump" | tr -d ' ') bytes, $(wc -l <"$counts" | tr -d ' ') tables)"

if [[ -n ${BACKUP_S3_URI:-} ]]; then
  command -v aws >/dev/null 2>&1 || die "BACKUP_S3_URI is set but the aws CLI is not installed"
  for file in "$dump" "$counts"; do
    aws s3 cp --only-show-errors -- "$file" "${BACKUP_S3_URI%/}/${file##*/}"
  done
  log "uploaded to ${BACKUP_S3_URI%/}/"
fi

# Retention runs only after a good backup, so failing backups never eat the last good ones.
while IFS= read -r -d '' old; do
  rm -f -- "$old"
  log "deleted $old (older than $retention_days days)"
done < <(find "$backup_dir" -maxdepth 1 -type f \
  \( -name 'backup_*.dump' -o -name 'backup_*.counts' \) ! -name "$name.*" \
  -mmin "+$((retention_days * 24 * 60))" -print0)

printf '%s\n' "$dump"
