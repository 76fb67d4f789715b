"""The 推しメダル ledger and wallets: accounts, immutable transfers, lots, spends.

Revision ID: payment_0001
Revises: (none)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payment_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "message_id"),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("ledger", sa.Integer(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=True),
        sa.Column("debits_pending", sa.BigInteger(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(flags & 1) = 0 OR debits_pending + debits_posted <= credits_posted",
            name="ck_ledger_accounts_debits_must_not_exceed_credits",
        ),
        sa.CheckConstraint(
            "(flags & 2) = 0 OR credits_pending + credits_posted <= debits_posted",
            name="ck_ledger_accounts_credits_must_not_exceed_debits",
        ),
        sa.CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 "
            "AND credits_pending >= 0 AND credits_posted >= 0",
            name="ck_ledger_accounts_balances_not_negative",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_accounts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "medal_lots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("medals", sa.BigInteger(), nullable=False),
        sa.Column("consumed", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("price_jpy", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("transfer_id", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expiry_notice_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('paid', 'free')", name="ck_medal_lots_kind"),
        sa.CheckConstraint(
            "price_jpy >= 0 AND (kind = 'paid' OR price_jpy = 0)", name="ck_medal_lots_price"
        ),
        sa.CheckConstraint(
            "consumed >= 0 AND held >= 0 AND remaining >= 0", name="ck_medal_lots_not_negative"
        ),
        sa.CheckConstraint("expires_at > issued_at", name="ck_medal_lots_expiry_after_issue"),
        sa.CheckConstraint("medals > 0", name="ck_medal_lots_medals_positive"),
        sa.CheckConstraint(
            "remaining = medals - consumed - held", name="ck_medal_lots_remaining_adds_up"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transfer_id"),
    )
    with op.batch_alter_table("medal_lots", schema=None) as batch_op:
        batch_op.create_index("ix_medal_lots_expiry", ["expires_at"], unique=False)
        batch_op.create_index("ix_medal_lots_issued", ["kind", "issued_at"], unique=False)
        batch_op.create_index(
            "ix_medal_lots_user_kind_expiry", ["user_id", "kind", "expires_at"], unique=False
        )

    op.create_table(
        "medal_spends",
        sa.Column("id", sa.String(length=160), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("medals", sa.BigInteger(), nullable=False),
        sa.Column("free_medals", sa.BigInteger(), nullable=False),
        sa.Column("paid_medals", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("two_phase", sa.Boolean(), nullable=False),
        sa.Column("posted_medals", sa.BigInteger(), nullable=True),
        sa.Column("posted_free_medals", sa.BigInteger(), nullable=True),
        sa.Column("posted_paid_medals", sa.BigInteger(), nullable=True),
        sa.Column("posted_paid_value_jpy", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'posted', 'voided')", name="ck_medal_spends_status"
        ),
        sa.CheckConstraint(
            "medals > 0 AND free_medals >= 0 AND paid_medals >= 0 "
            "AND free_medals + paid_medals = medals",
            name="ck_medal_spends_split",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("medal_spends", schema=None) as batch_op:
        batch_op.create_index("ix_medal_spends_pending", ["status", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_medal_spends_user_id"), ["user_id"], unique=False)

    op.create_table(
        "operator_actions",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("actor_user_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("target_user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("medals", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("operator_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_actions_target_user_id"), ["target_user_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending", ["published_at", "created_at"], unique=False)

    op.create_table(
        "ledger_transfers",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("debit_account_id", sa.String(length=100), nullable=False),
        sa.Column("credit_account_id", sa.String(length=100), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("ledger", sa.Integer(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("pending_id", sa.String(length=200), nullable=True),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_data", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(flags & 12) = 0 OR pending_id IS NOT NULL",
            name="ck_ledger_transfers_resolution_has_pending_id",
        ),
        sa.CheckConstraint("amount >= 0", name="ck_ledger_transfers_amount_not_negative"),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name="ck_ledger_transfers_accounts_differ"
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["ledger_accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["ledger_accounts.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("pending_id"),
    )
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_transfers_credit", ["credit_account_id", "seq"], unique=False
        )
        batch_op.create_index(
            "ix_ledger_transfers_debit", ["debit_account_id", "seq"], unique=False
        )

    op.create_table(
        "medal_lot_holds",
        sa.Column("spend_id", sa.String(length=160), nullable=False),
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("medals", sa.BigInteger(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("medals > 0", name="ck_medal_lot_holds_positive"),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["medal_lots.id"],
        ),
        sa.ForeignKeyConstraint(
            ["spend_id"],
            ["medal_spends.id"],
        ),
        sa.PrimaryKeyConstraint("spend_id", "lot_id"),
    )
    op.create_table(
        "medal_lot_movements",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("entry", sa.String(length=20), nullable=False),
        sa.Column("medals", sa.BigInteger(), nullable=False),
        sa.Column("value_jpy", sa.BigInteger(), nullable=False),
        sa.Column("transfer_id", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("medals > 0 AND value_jpy >= 0", name="ck_medal_lot_movements_positive"),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["medal_lots.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("medal_lot_movements", schema=None) as batch_op:
        batch_op.create_index("ix_medal_lot_movements_day", ["kind", "occurred_at"], unique=False)
        batch_op.create_index("ix_medal_lot_movements_lot", ["lot_id", "occurred_at"], unique=False)

    # Transfers are immutable (DESIGN.md "The money"): corrections are new transfers.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_transfers_immutable() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'ledger transfers are immutable'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER ledger_transfers_immutable BEFORE UPDATE OR DELETE ON "
            "ledger_transfers FOR EACH ROW EXECUTE FUNCTION ledger_transfers_immutable()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_transfers_no_{action.lower()} BEFORE {action} ON "
                "ledger_transfers BEGIN SELECT RAISE(ABORT, 'ledger transfers are immutable'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_immutable ON ledger_transfers")
        op.execute("DROP FUNCTION IF EXISTS ledger_transfers_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_delete")
    with op.batch_alter_table("medal_lot_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_medal_lot_movements_lot")
        batch_op.drop_index("ix_medal_lot_movements_day")

    op.drop_table("medal_lot_movements")
    op.drop_table("medal_lot_holds")
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_transfers_debit")
        batch_op.drop_index("ix_ledger_transfers_credit")

    op.drop_table("ledger_transfers")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    with op.batch_alter_table("operator_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_actions_target_user_id"))

    op.drop_table("operator_actions")
    with op.batch_alter_table("medal_spends", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_medal_spends_user_id"))
        batch_op.drop_index("ix_medal_spends_pending")

    op.drop_table("medal_spends")
    with op.batch_alter_table("medal_lots", schema=None) as batch_op:
        batch_op.drop_index("ix_medal_lots_user_kind_expiry")
        batch_op.drop_index("ix_medal_lots_issued")
        batch_op.drop_index("ix_medal_lots_expiry")

    op.drop_table("medal_lots")
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_user_id"))

    op.drop_table("ledger_accounts")
    op.drop_table("inbox")
