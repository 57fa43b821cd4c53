"""Mail: sync leases (one worker watches each account).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_leases",
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "acquired_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["mail_accounts.id"],
            name=op.f("fk_sync_leases_account_id_mail_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_sync_leases")),
    )
    op.create_index("ix_threads_account_subject", "threads", ["account_id", "normalized_subject"])
    op.create_index("ix_messages_references", "messages", ["references"], postgresql_using="gin")
    op.create_index("ix_messages_account_in_reply_to", "messages", ["account_id", "in_reply_to"])
    op.create_index(
        "ix_messages_snoozed",
        "messages",
        ["snoozed_until"],
        postgresql_where=sa.text("snoozed_until IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_snoozed", table_name="messages")
    op.drop_index("ix_messages_account_in_reply_to", table_name="messages")
    op.drop_index("ix_messages_references", table_name="messages")
    op.drop_index("ix_threads_account_subject", table_name="threads")
    op.drop_table("sync_leases")
