"""procrastinate's schema, applied by our first migration so one `mailmind migrate` sets up all."""

from __future__ import annotations

from importlib import resources


def procrastinate_schema_sql() -> str:
    return resources.files("procrastinate.sql").joinpath("schema.sql").read_text(encoding="utf-8")
