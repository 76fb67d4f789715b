"""The downloads tables: issued downloads (watermark ids), fetches, export archives.

Revision ID: rewards_0004
Revises: rewards_0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "rewards_0004"
down_revision: str | None = "rewards_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rewards_downloads",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("entitlement_id", sa.String(length=64), nullable=True),
        sa.Column("content_id", sa.String(length=64), nullable=True),
        sa.Column("export_id", sa.String(length=36), nullable=True),
        sa.Column("watermark_id", sa.String(length=16), nullable=True),
        sa.Column("content_hash", sa.String(length=16), nullable=True),
        sa.Column("ip_hash", sa.String(length=32), nullable=False),
        sa.Column("issued_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("fetches", sa.Integer(), nullable=False),
        sa.Column("last_fetched_at", UTC_TIME, nullable=True),
        sa.CheckConstraint(
            "kind IN ('entitlement', 'export', 'export_item')", name="downloads_kind"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("watermark_id"),
    )
    with op.batch_alter_table("rewards_downloads", schema=None) as batch_op:
        batch_op.create_index("ix_rewards_downloads_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_rewards_downloads_content", ["content_id"], unique=False)
        batch_op.create_index(
            "ix_rewards_downloads_user_issued", ["user_id", "issued_at"], unique=False
        )

    op.create_table(
        "rewards_download_fetches",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("download_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("fetched_at", UTC_TIME, nullable=False),
        sa.Column("ip_hash", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(["download_id"], ["rewards_downloads.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rewards_download_fetches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rewards_download_fetches_download_id", ["download_id"], unique=False
        )

    op.create_table(
        "rewards_exports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("checksum_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("deleted_at", UTC_TIME, nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rewards_exports", schema=None) as batch_op:
        batch_op.create_index(
            "ux_rewards_exports_user_key", ["user_id", "idempotency_key"], unique=True
        )
        batch_op.create_index("ix_rewards_exports_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_rewards_exports_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rewards_exports", schema=None) as batch_op:
        batch_op.drop_index("ux_rewards_exports_user_key")
        batch_op.drop_index("ix_rewards_exports_expires_at")
        batch_op.drop_index("ix_rewards_exports_user_id")
    op.drop_table("rewards_exports")
    with op.batch_alter_table("rewards_download_fetches", schema=None) as batch_op:
        batch_op.drop_index("ix_rewards_download_fetches_download_id")
    op.drop_table("rewards_download_fetches")
    with op.batch_alter_table("rewards_downloads", schema=None) as batch_op:
        batch_op.drop_index("ix_rewards_downloads_user_issued")
        batch_op.drop_index("ix_rewards_downloads_content")
        batch_op.drop_index("ix_rewards_downloads_user_id")
    op.drop_table("rewards_downloads")
