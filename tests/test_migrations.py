"""Migrations create exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from mailmind.db import sqlalchemy_url
from mailmind.migrate import downgrade, include_object, upgrade
from mailmind.models import Base


@pytest.fixture
def scratch_url(pg_admin_url):
    """An empty database on the test server, dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sqlalchemy_url(pg_admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_admin_url.replace("/postgres?", f"/{name}?")
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_autogenerate_finds_no_drift(pg_url):
    engine = create_engine(sqlalchemy_url(pg_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_schema_has_vectors_full_text_and_the_job_queue(pg_url):
    engine = create_engine(sqlalchemy_url(pg_url))
    with engine.connect() as conn:
        extensions = set(conn.execute(text("SELECT extname FROM pg_extension")).scalars())
        hnsw = conn.execute(
            text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_message_chunks_embedding_hnsw'"
            )
        ).scalar_one()
        column = conn.execute(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'message_chunks'::regclass AND attname = 'embedding'"
            )
        ).scalar_one()
        references = conn.execute(
            text("SELECT reloptions FROM pg_class WHERE relname = 'ix_messages_references'")
        ).scalar_one()
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"vector", "pg_trgm"} <= extensions
    assert column == "vector(384)"
    assert "USING hnsw" in hnsw and "vector_cosine_ops" in hnsw
    assert references == ["fastupdate=off"]  # autogenerate does not compare index options
    assert {
        "users",
        "auth_sessions",
        "refresh_tokens",
        "user_tokens",
        "security_events",
        "mail_accounts",
        "folders",
        "threads",
        "messages",
        "message_sources",
        "attachments",
        "tags",
        "message_tags",
        "ai_results",
        "ai_decisions",
        "ai_feedback",
        "message_chunks",
        "rules",
        "rule_history",
        "reminders",
        "notifications",
        "mail_imports",
        "idempotency_keys",
        "job_errors",
        "procrastinate_jobs",
    } <= tables


def test_downgrade_to_base_and_upgrade_again(scratch_url):
    upgrade(scratch_url)
    downgrade(scratch_url, "base")
    engine = create_engine(sqlalchemy_url(scratch_url))
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(scratch_url)
    engine = create_engine(sqlalchemy_url(scratch_url))
    assert "messages" in inspect(engine).get_table_names()
    engine.dispose()


def test_upgrade_is_idempotent(scratch_url):
    upgrade(scratch_url)
    upgrade(scratch_url)
