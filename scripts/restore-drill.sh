#!/usr/bin/env bash
# Restore drill: prove that a backup restores.
#
#   scripts/restore-drill.sh [DUMP]
#
# Restores DUMP (default: the newest $BACKUP_DIR/backup_*.dump) into a scratch database created for
# the drill, checks the copy and drops the scratch database again. Exits 0 when every check
# passes and 1 when any fails.
#
# Checks:
#   1. restore.sh restores the dump without an error;
#   2. the schema is under Alembic's control: alembic_version holds a revision;
#   3. every table of the copy has the row count of the source. The source's counts come from the
#      .counts file that backup.sh wrote in the dump's own snapshot; without that file, from the
#      live database at DATABASE_URL, which matches only if nothing was written since the dump;
#   4. unless DRILL_MIGRATE=0, `mailmind migrate` upgrades the copy to the installed code's head.
#
# Environment:
#   DATABASE_URL      the source database (see check 3) and the default drill server
#   DRILL_SERVER_URL  server on which the scratch database is created (default: DATABASE_URL);
#                     its role needs CREATEDB. A separate server keeps the drill's load off
#                     production.
#   BACKUP_DIR        where the newest dump is looked for (default: ./backups)
#   DRILL_MIGRATE     1 (default) runs `mailmind migrate` against the copy; 0 skips it
#   PG_BIN            directory of pg_restore and psql (default: chosen per server)
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/pg.sh
source "$here/lib/pg.sh"

if (($# > 1)); then
  printf 'usage: %s [DUMP]\n' "${0##*/}" >&2
  exit 1
fi

created=0
scratch=""
finish() {
  local rc=$?
  trap - EXIT
  if ((created)); then
    "$PG_BIN/psql" -X -q -w -d "$server" \
      -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" >/dev/null \
      || { log "could not drop the scratch database $scratch"; rc=1; }
  fi
  if ((rc == 0)); then
    log "restore drill PASSED"
    exit 0
  fi
  log "restore drill FAILED"
  exit 1
}
trap finish EXIT

dump=${1:-}
if [[ -z $dump ]]; then
  backup_dir=${BACKUP_DIR:-./backups}
  [[ -d $backup_dir ]] || die "no backup directory $backup_dir"
  # The names sort by time: backup_YYYYmmdd_HHMMSS.dump.
  dump=$(find "$backup_dir" -maxdepth 1 -type f -name 'backup_*.dump' | sort | tail -n 1)
  [[ -n $dump ]] || die "no backup_*.dump in $backup_dir"
fi
[[ -f $dump ]] || die "no such file: $dump"
server=${DRILL_SERVER_URL:-${DATABASE_URL:-}}
[[ -n $server ]] || die "set DRILL_SERVER_URL or DATABASE_URL"
server=$(pg_normalise_url "$server")

pg_select_bin "$server"

psql_q() { "$PG_BIN/psql" -X -A -t -q -w -v ON_ERROR_STOP=1 -d "$@"; }

scratch=mailmind_drill_$(date -u +%Y%m%d%H%M%S)_$$
scratch_url=$(pg_url_with_db "$server" "$scratch")
log "drilling $dump in scratch database $scratch"
psql_q "$server" -c "CREATE DATABASE \"$scratch\""
created=1

# 1. Restore, exactly as an operator would.
"$here/restore.sh" "$dump" "$scratch_url" || die "the dump does not restore"

# 2. Alembic.
revision=$(psql_q "$scratch_url" -c 'SELECT version_num FROM alembic_version' 2>/dev/null) \
  || die "the restored database has no alembic_version table"
[[ -n $revision ]] || die "alembic_version of the restored database is empty"
log "alembic revision: ${revision//$'\n'/ }"

# 3. Row counts of every table.
restored=$(pg_row_counts_sql | psql_q "$scratch_url" -f -)
counts_file=${dump%.dump}.counts
if [[ -f $counts_file ]]; then
  expected=$(<"$counts_file")
  source_name=$counts_file
elif [[ -n ${DATABASE_URL:-} ]]; then
  log "warning: no $counts_file; comparing with the live database, which only matches" \
    "if nothing was written since the dump"
  expected=$(pg_row_counts_sql | psql_q "$(pg_normalise_url "$DATABASE_URL")" -f -)
  source_name="the live database"
else
  die "no $counts_file and no DATABASE_URL to compare row counts with"
fi
if [[ $restored != "$expected" ]]; then
  log "row counts differ (< $source_name, > restored copy):"
  diff <(printf '%s\n' "$expected") <(printf '%s\n' "$restored") >&2 || true
  die "the restored copy does not match the source"
fi
tables=0
rows=0
while IFS= read -r line; do
  [[ -n $line ]] || continue
  tables=$((tables + 1))
  rows=$((rows + ${line##*|}))
done <<<"$restored"
log "row counts match $source_name: $tables tables, $rows rows"

# 4. The current code's migrations apply to the restored data.
if [[ ${DRILL_MIGRATE:-1} != 0 ]]; then
  command -v mailmind >/dev/null 2>&1 \
    || die "mailmind is not on PATH (DRILL_MIGRATE=0 skips the migration check)"
  log "running mailmind migrate against the copy"
  DATABASE_URL=$scratch_url mailmind migrate >&2 || die "mailmind migrate failed on the copy"
  revision=$(psql_q "$scratch_url" -c 'SELECT version_num FROM alembic_version')
  log "migrated to alembic revision: ${revision//$'\n'/ }"
fi
