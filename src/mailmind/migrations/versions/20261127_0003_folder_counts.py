"""Folder counts from two partial indexes: live messages and unread ones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "deleted_at IS NULL"
UNREAD = "is_read IS false AND deleted_at IS NULL AND snoozed_until IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_messages_folder_live", "messages", ["folder_id"], postgresql_where=sa.text(LIVE)
    )
    op.create_index(
        "ix_messages_folder_unread", "messages", ["folder_id"], postgresql_where=sa.text(UNREAD)
    )


def downgrade() -> None:
    op.drop_index("ix_messages_folder_unread", table_name="messages")
    op.drop_index("ix_messages_folder_live", table_name="messages")
