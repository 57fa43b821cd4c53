"""The GIN index on ``messages.references`` without a pending list (``fastupdate = off``): the
replies of each stored batch are looked up in it, and a pending list made each lookup scan the
entries not yet merged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER INDEX ix_messages_references SET (fastupdate = off)")
    # Entries already pending are merged now, not at the next VACUUM.
    op.execute("SELECT gin_clean_pending_list('ix_messages_references'::regclass)")


def downgrade() -> None:
    op.execute("ALTER INDEX ix_messages_references RESET (fastupdate)")
