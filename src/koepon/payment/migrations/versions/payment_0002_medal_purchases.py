"""Medal purchases: packs, checkouts and their events, purchase locks, idempotency keys, and
the sandbox provider's own book.

Revision ID: payment_0002
Revises: payment_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payment_0002"
down_revision: str | None = "payment_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkout_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("checkout_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("status_before", sa.String(length=20), nullable=False),
        sa.Column("status_after", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("checkout_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkout_events_checkout_id"), ["checkout_id"], unique=False
        )

    op.create_table(
        "checkouts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("pack_id", sa.String(length=36), nullable=False),
        sa.Column("pack_name", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("price_jpy", sa.BigInteger(), nullable=False),
        sa.Column("tax_jpy", sa.BigInteger(), nullable=False),
        sa.Column("paid_medals", sa.BigInteger(), nullable=False),
        sa.Column("bonus_medals", sa.BigInteger(), nullable=False),
        sa.Column("purchase_month", sa.String(length=7), nullable=False),
        sa.Column("provider_session_id", sa.String(length=255), nullable=True),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("redirect_url", sa.String(length=2000), nullable=True),
        sa.Column("confirmation", sa.JSON(), nullable=False),
        sa.Column("credited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clawed_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("refund_ground", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('creating', 'open', 'pending', 'succeeded', 'failed', 'expired', "
            "'refunded', 'charged_back')",
            name="ck_checkouts_status",
        ),
        sa.CheckConstraint(
            "price_jpy > 0 AND tax_jpy >= 0 AND paid_medals > 0 AND bonus_medals >= 0",
            name="ck_checkouts_amounts",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checkouts_provider_created", ["provider", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_checkouts_provider_payment", ["provider", "provider_payment_id"], unique=False
        )
        batch_op.create_index(
            "ix_checkouts_provider_session", ["provider", "provider_session_id"], unique=False
        )
        batch_op.create_index("ix_checkouts_user_created", ["user_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_checkouts_user_month", ["user_id", "purchase_month", "status"], unique=False
        )

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.JSON(), nullable=True),
        sa.Column("recovery_point", sa.String(length=64), nullable=True),
        sa.Column("recovery_data", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_keys_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "medal_packs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("price_jpy", sa.BigInteger(), nullable=False),
        sa.Column("tax_rate_percent", sa.Integer(), nullable=False),
        sa.Column("tax_jpy", sa.BigInteger(), nullable=False),
        sa.Column("paid_medals", sa.BigInteger(), nullable=False),
        sa.Column("bonus_medals", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("paid_medals > 0 AND bonus_medals >= 0", name="ck_medal_packs_medals"),
        sa.CheckConstraint("price_jpy > 0 AND tax_jpy >= 0", name="ck_medal_packs_price"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "purchase_locks",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "sandbox_payments",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("checkout_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("amount_jpy", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("confirmation", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("success_url", sa.String(length=2000), nullable=False),
        sa.Column("cancel_url", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
        sa.UniqueConstraint("checkout_id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("payment_id"),
    )
    with op.batch_alter_table("sandbox_payments", schema=None) as batch_op:
        batch_op.create_index("ix_sandbox_payments_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sandbox_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_payments_created")

    op.drop_table("sandbox_payments")
    op.drop_table("purchase_locks")
    op.drop_table("medal_packs")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_expires_at")

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_index("ix_checkouts_user_month")
        batch_op.drop_index("ix_checkouts_user_created")
        batch_op.drop_index("ix_checkouts_provider_session")
        batch_op.drop_index("ix_checkouts_provider_payment")
        batch_op.drop_index("ix_checkouts_provider_created")

    op.drop_table("checkouts")
    with op.batch_alter_table("checkout_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkout_events_checkout_id"))

    op.drop_table("checkout_events")
