"""Operators' reversals of completed draws (one per draw).

Revision ID: gacha_0002
Revises: gacha_0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gacha_0002"
down_revision: str | None = "gacha_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "draw_reversals",
        sa.Column("draw_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reversed_by", sa.String(length=64), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("draw_id"),
    )


def downgrade() -> None:
    op.drop_table("draw_reversals")
