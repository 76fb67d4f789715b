"""The entitlements tables.

Revision ID: rewards_0003
Revises: rewards_0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "rewards_0003"
down_revision: str | None = "rewards_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "entitlements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("vtuber_id", sa.String(length=64), nullable=False),
        sa.Column("gacha_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("content_id", sa.String(length=64), nullable=False),
        sa.Column("rarity", sa.String(length=8), nullable=False),
        sa.Column("limited", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=True),
        sa.Column("serial_of", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("granted_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.CheckConstraint("status IN ('live', 'revoked')", name="entitlements_status"),
        sa.CheckConstraint("count >= 0", name="entitlements_count"),
        sa.CheckConstraint(
            "(limited AND serial IS NOT NULL AND serial >= 1 AND count <= 1)"
            " OR (NOT limited AND serial IS NULL)",
            name="entitlements_serial",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("gacha_id", "item_id", "serial", name="uq_entitlements_serial"),
    )
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.create_index(
            "uq_entitlements_owner_item",
            ["user_id", "gacha_id", "item_id"],
            unique=True,
            postgresql_where=sa.text("serial IS NULL"),
            sqlite_where=sa.text("serial IS NULL"),
        )
        batch_op.create_index(
            "ix_entitlements_collection", ["user_id", "granted_at", "id"], unique=False
        )

    op.create_table(
        "entitlement_grants",
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("entitlement_id", sa.String(length=36), nullable=True),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("granted_at", UTC_TIME, nullable=False),
        sa.Column("recorded_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.CheckConstraint("source IN ('draw', 'exchange')", name="entitlement_grants_source"),
        sa.ForeignKeyConstraint(["entitlement_id"], ["entitlements.id"]),
        sa.PrimaryKeyConstraint("source", "source_id", "slot"),
    )
    with op.batch_alter_table("entitlement_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_entitlement_grants_entitlement_id", ["entitlement_id"], unique=False
        )

    op.create_table(
        "entitlement_serials",
        sa.Column("gacha_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.CheckConstraint("last_serial >= 1", name="entitlement_serials_positive"),
        sa.PrimaryKeyConstraint("gacha_id", "item_id"),
    )

    op.create_table(
        "entitlement_draws",
        sa.Column("draw_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("granted_at", UTC_TIME, nullable=True),
        sa.Column("reversed_at", UTC_TIME, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.CheckConstraint("state IN ('granted', 'reversed')", name="entitlement_draws_state"),
        sa.PrimaryKeyConstraint("draw_id"),
    )

    op.create_table(
        "entitlement_rejected_events",
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )


def downgrade() -> None:
    op.drop_table("entitlement_rejected_events")
    op.drop_table("entitlement_draws")
    op.drop_table("entitlement_serials")
    with op.batch_alter_table("entitlement_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_entitlement_grants_entitlement_id")
    op.drop_table("entitlement_grants")
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_index("ix_entitlements_collection")
        batch_op.drop_index("uq_entitlements_owner_item")
    op.drop_table("entitlements")
