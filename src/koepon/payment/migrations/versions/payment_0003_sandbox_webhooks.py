"""The sandbox provider's durable webhook deliveries (retried with back-off until accepted).

Revision ID: payment_0003
Revises: payment_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payment_0003"
down_revision: str | None = "payment_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sandbox_webhooks",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("sandbox_webhooks", schema=None) as batch_op:
        batch_op.create_index("ix_sandbox_webhooks_due", ["next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sandbox_webhooks", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_webhooks_due")
    op.drop_table("sandbox_webhooks")
