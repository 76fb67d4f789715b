"""Odds proposals: a VTuber team's changed configuration of an approved gacha, reviewed by an
operator and published as the next odds version (COMPLIANCE G4). One open proposal per gacha.

Revision ID: gacha_0004
Revises: gacha_0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gacha_0004"
down_revision: str | None = "gacha_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gacha_odds_proposals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("gacha_id", sa.String(length=36), nullable=False),
        sa.Column("vtuber_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("open_for", sa.String(length=36), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("requested_effective_at", UTC_TIME, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", UTC_TIME, nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", UTC_TIME, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'approved', 'rejected')",
            name="odds_proposals_status",
        ),
        sa.CheckConstraint(
            "(open_for IS NULL) = (status IN ('approved', 'rejected'))",
            name="odds_proposals_open",
        ),
        sa.ForeignKeyConstraint(["gacha_id"], ["gachas.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_for"),
    )
    with op.batch_alter_table("gacha_odds_proposals", schema=None) as batch_op:
        batch_op.create_index("ix_gacha_odds_proposals_gacha_id", ["gacha_id"], unique=False)
        batch_op.create_index("ix_gacha_odds_proposals_status", ["status"], unique=False)
        batch_op.create_index(
            "ix_gacha_odds_proposals_queue", ["status", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("gacha_odds_proposals")
