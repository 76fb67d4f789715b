"""The contents tables.

Revision ID: rewards_0002
Revises: rewards_0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "rewards_0002"
down_revision: str | None = "rewards_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rewards_contents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("vtuber_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("mime_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("checksum_sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("preview_key", sa.String(length=512), nullable=True),
        sa.Column("thumbnail_key", sa.String(length=512), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.CheckConstraint(
            "kind IN ('image', 'audio', 'video', 'pdf')", name="rewards_contents_kind"
        ),
        sa.CheckConstraint(
            "status IN ('processing', 'ready', 'retired')", name="rewards_contents_status"
        ),
        sa.CheckConstraint("size_bytes >= 0", name="rewards_contents_size"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rewards_contents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rewards_contents_vtuber", ["vtuber_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rewards_contents", schema=None) as batch_op:
        batch_op.drop_index("ix_rewards_contents_vtuber")
    op.drop_table("rewards_contents")
