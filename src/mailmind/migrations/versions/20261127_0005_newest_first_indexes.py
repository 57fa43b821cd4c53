"""A user's mail newest first in the order lists and search read it (``date DESC NULLS LAST,
id DESC``), replacing ``(user_id, date)``, and the same for mail with attachments only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEWEST_FIRST = [sa.text("date DESC NULLS LAST"), sa.text("id DESC")]


def upgrade() -> None:
    op.create_index("ix_messages_user_recent", "messages", ["user_id", *NEWEST_FIRST])
    op.create_index(
        "ix_messages_user_attachments",
        "messages",
        ["user_id", *NEWEST_FIRST],
        postgresql_where=sa.text("has_attachments"),
    )
    op.drop_index("ix_messages_user_date", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_user_date", "messages", ["user_id", "date"])
    op.drop_index("ix_messages_user_attachments", table_name="messages")
    op.drop_index("ix_messages_user_recent", table_name="messages")
