#!/usr/bin/env bash
# Restore a dump written by backup.sh.
#
#   scripts/restore.sh DUMP [TARGET_URL]
#
# Restores DUMP into TARGET_URL (default: $DATABASE_URL) with pg_restore --clean --if-exists
# --no-owner: every object the dump contains is dropped and recreated. The restore runs in one
# transaction, so a damaged dump or any other error leaves the target as it was.
# Stop the api and worker processes first when restoring over a live database.
#
# Environment:
#   DATABASE_URL  the target when TARGET_URL is not given
#   PG_BIN        directory of pg_restore and psql (default: chosen per server, see lib/pg.sh)
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/pg.sh
source "$here/lib/pg.sh"

if (($# < 1 || $# > 2)); then
  printf 'usage: %s DUMP [TARGET_URL]\n' "${0##*/}" >&2
  exit 2
fi
dump=$1
target=${2:-${DATABASE_URL:-}}
[[ -f $dump ]] || die "no such file: $dump"
[[ -n $target ]] || die "no target database: pass TARGET_URL or set DATABASE_URL"
target=$(pg_normalise_url "$target")

pg_select_bin "$target"

"$PG_BIN/pg_restore" --list "$dump" >/dev/null || die "$dump is not a readable pg_dump archive"
log "restoring $dump"
"$PG_BIN/pg_restore" --clean --if-exists --no-owner --exit-on-error --single-transaction \
  --no-password --dbname="$target" "$dump" \
  || die "restore of $dump failed; the target database was left unchanged"
log "restored $dump"
