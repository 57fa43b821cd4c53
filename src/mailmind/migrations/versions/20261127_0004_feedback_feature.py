"""Category corrections made by changing a message are recorded as ``classify`` feedback, the
name the classifier and the pipeline read; earlier ones were stored as ``category``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 17:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE ai_feedback SET feature = 'classify' WHERE feature = 'category'")


def downgrade() -> None:
    """Nothing to undo: ``classify`` is the name both kinds of correction share."""
