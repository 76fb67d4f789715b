"""Account suspension: the state on the account and the record of who changed it, when, why.

Revision ID: auth_0002
Revises: auth_0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "auth_0002"
down_revision: str | None = "auth_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("suspended_at", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("suspended_reason", sa.Text(), nullable=True))
    op.create_table(
        "suspension_changes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_suspension_changes_users"),
            nullable=False,
        ),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(36), nullable=False),
        sa.Column("changed_at", UTC_TIME, nullable=False),
    )
    op.create_index("ix_suspension_changes_user_id", "suspension_changes", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_suspension_changes_user_id", table_name="suspension_changes")
    op.drop_table("suspension_changes")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("suspended_reason")
        batch.drop_column("suspended_at")
