"""The overlay URL's token of each VTuber (its SHA-256 only), and the directory's index by name.

Revision ID: vtuber_0002
Revises: vtuber_0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "vtuber_0002"
down_revision: str | None = "vtuber_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vtuber_overlay_keys",
        sa.Column("vtuber_id", sa.String(length=36), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("token_hint", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vtuber_id"),
    )
    with op.batch_alter_table("vtuber_overlay_keys", schema=None) as batch_op:
        batch_op.create_index("ix_vtuber_overlay_keys_token", ["token_sha256"], unique=True)
    with op.batch_alter_table("vtuber_profiles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_vtuber_profiles_directory", ["status", "display_name", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vtuber_profiles", schema=None) as batch_op:
        batch_op.drop_index("ix_vtuber_profiles_directory")
    with op.batch_alter_table("vtuber_overlay_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_vtuber_overlay_keys_token")
    op.drop_table("vtuber_overlay_keys")
