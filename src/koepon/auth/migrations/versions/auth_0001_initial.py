"""Accounts, refresh-token families, one-time tokens, self-set limits, mail, outbox and inbox.

Revision ID: auth_0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "auth_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(50), nullable=False),
        sa.Column("birthdate", sa.Date(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("email_verified_at", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("password_changed_at", UTC_TIME, nullable=False),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("family_id", sa.String(36), nullable=False),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_refresh_tokens_users"),
            nullable=False,
        ),
        sa.Column("parent_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("spent_at", UTC_TIME, nullable=True),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_table(
        "one_time_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(30), nullable=False),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_one_time_tokens_users"),
            nullable=False,
        ),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("used_at", UTC_TIME, nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_one_time_tokens_token_hash"),
    )
    op.create_index("ix_one_time_tokens_user_purpose", "one_time_tokens", ["user_id", "purpose"])
    op.create_table(
        "spending_limits",
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_spending_limits_users"),
            primary_key=True,
        ),
        sa.Column("monthly_purchase_cap_jpy", sa.BigInteger(), nullable=True),
        sa.Column("pending_purchase_cap_jpy", sa.BigInteger(), nullable=True),
        sa.Column("pending_purchase_cap_effective_at", UTC_TIME, nullable=True),
        sa.Column("monthly_draw_cap_medals", sa.BigInteger(), nullable=True),
        sa.Column("pending_draw_cap_medals", sa.BigInteger(), nullable=True),
        sa.Column("pending_draw_cap_effective_at", UTC_TIME, nullable=True),
        sa.Column("cooling_off_until", UTC_TIME, nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.CheckConstraint(
            "monthly_purchase_cap_jpy IS NULL OR monthly_purchase_cap_jpy >= 0",
            name="ck_spending_limits_purchase_cap",
        ),
        sa.CheckConstraint(
            "monthly_draw_cap_medals IS NULL OR monthly_draw_cap_medals >= 0",
            name="ck_spending_limits_draw_cap",
        ),
    )
    op.create_table(
        "birthdate_changes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_birthdate_changes_users"),
            nullable=False,
        ),
        sa.Column("old_birthdate", sa.Date(), nullable=False),
        sa.Column("new_birthdate", sa.Date(), nullable=False),
        sa.Column("changed_by", sa.String(36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_at", UTC_TIME, nullable=False),
    )
    op.create_index("ix_birthdate_changes_user_id", "birthdate_changes", ["user_id"])
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("sent_at", UTC_TIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_outgoing_mail_pending", "outgoing_mail", ["sent_at", "next_attempt_at"])
    op.create_table(
        "dev_mailbox",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("delivered_at", UTC_TIME, nullable=False),
    )
    op.create_index("ix_dev_mailbox_delivered_at", "dev_mailbox", ["delivered_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("published_at", UTC_TIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "created_at"])
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("message_id", sa.String(200), primary_key=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "inbox",
        "outbox",
        "dev_mailbox",
        "outgoing_mail",
        "birthdate_changes",
        "spending_limits",
        "one_time_tokens",
        "refresh_tokens",
        "users",
    ):
        op.drop_table(table)
