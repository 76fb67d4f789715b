"""Gachas, odds versions (append-only), box stock, seed pairs, draws, the draw log.

Revision ID: gacha_0001
Revises:
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gacha_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)

# COMPLIANCE G4: a published odds version is never edited or removed, whatever code runs.
PG_APPEND_ONLY = """
CREATE FUNCTION odds_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'odds versions are append-only (COMPLIANCE G4)';
END $$;
"""
PG_TRIGGER = (
    "CREATE TRIGGER odds_versions_append_only BEFORE UPDATE OR DELETE ON gacha_odds_versions "
    "FOR EACH ROW EXECUTE FUNCTION odds_versions_append_only()"
)
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER odds_versions_no_{op_} BEFORE {op_.upper()} ON gacha_odds_versions "
    "BEGIN SELECT RAISE(ABORT, 'odds versions are append-only (COMPLIANCE G4)'); END"
    for op_ in ("update", "delete")
]


def upgrade() -> None:
    op.create_table(
        "draw_log_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    with op.batch_alter_table("draw_log_checkpoints", schema=None) as batch_op:
        batch_op.create_index("ix_draw_log_checkpoints_signed", ["signed_at"], unique=False)

    op.create_table(
        "draw_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "draw_log_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("draw_id", sa.String(length=36), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("logged_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("leaf_index"),
        sa.UniqueConstraint("draw_id"),
    )
    op.create_table(
        "draw_log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "index"),
    )
    op.create_table(
        "draw_log_pending",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("draw_id", sa.String(length=36), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("submitted_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("draw_id"),
    )
    op.create_table(
        "draw_slots",
        sa.Column("draw_id", sa.String(length=36), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("gacha_id", sa.String(length=36), nullable=False),
        sa.Column("odds_version", sa.Integer(), nullable=False),
        sa.Column("table", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("rarity", sa.String(length=4), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", "slot"),
    )
    with op.batch_alter_table("draw_slots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_draw_slots_audit", ["gacha_id", "odds_version", "table"], unique=False
        )

    op.create_table(
        "draws",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("gacha_id", sa.String(length=36), nullable=False),
        sa.Column("vtuber_id", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("price_medals", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("odds_version", sa.Integer(), nullable=True),
        sa.Column("seed_pair_id", sa.String(length=36), nullable=True),
        sa.Column("server_seed_hash", sa.String(length=64), nullable=True),
        sa.Column("client_seed", sa.String(length=64), nullable=True),
        sa.Column("first_nonce", sa.BigInteger(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("paid_medals", sa.BigInteger(), nullable=True),
        sa.Column("free_medals", sa.BigInteger(), nullable=True),
        sa.Column("paid_value_jpy", sa.BigInteger(), nullable=True),
        sa.Column("points_earned", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("completed_at", UTC_TIME, nullable=True),
        sa.CheckConstraint(
            "status IN ('accepted', 'drawn', 'completed', 'refused', 'voiding', 'voided')",
            name="draws_status",
        ),
        sa.CheckConstraint("count >= 1 AND price_medals >= 0", name="draws_amounts"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.create_index("ix_draws_gacha_status", ["gacha_id", "status"], unique=False)
        batch_op.create_index("ix_draws_status_updated", ["status", "updated_at"], unique=False)
        batch_op.create_index("ix_draws_user_requested", ["user_id", "requested_at"], unique=False)
        batch_op.create_index("ux_draws_user_key", ["user_id", "idempotency_key"], unique=True)

    op.create_table(
        "exchanges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("gacha_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.create_index("ux_exchanges_user_key", ["user_id", "idempotency_key"], unique=True)

    op.create_table(
        "fan_draw_months",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("medals", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("medals >= 0", name="fan_month_medals"),
        sa.PrimaryKeyConstraint("user_id", "month"),
    )
    op.create_table(
        "fan_gacha_states",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("gacha_id", sa.String(length=36), nullable=False),
        sa.Column("drawn", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("drawn_on_day", sa.BigInteger(), nullable=False),
        sa.Column("pity", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "drawn >= 0 AND drawn_on_day >= 0 AND pity >= 0", name="fan_state_counts"
        ),
        sa.CheckConstraint("points >= 0", name="fan_state_points"),
        sa.PrimaryKeyConstraint("user_id", "gacha_id"),
    )
    op.create_table(
        "gachas",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("vtuber_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("submitted_at", UTC_TIME, nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", UTC_TIME, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('weighted', 'box')", name="gachas_kind"),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'approved', 'rejected', 'ended')",
            name="gachas_status",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gachas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gachas_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_gachas_vtuber_id"), ["vtuber_id"], unique=False)

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
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "message_id"),
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
        "seed_pairs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("active_user_id", sa.String(length=64), nullable=True),
        sa.Column("server_seed", sa.LargeBinary(length=32), nullable=False),
        sa.Column("server_seed_hash", sa.String(length=64), nullable=False),
        sa.Column("client_seed", sa.String(length=64), nullable=False),
        sa.Column("next_nonce", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("revealed_at", UTC_TIME, nullable=True),
        sa.CheckConstraint("next_nonce >= 0", name="seed_pairs_nonce"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_user_id"),
    )
    with op.batch_alter_table("seed_pairs", schema=None) as batch_op:
        batch_op.create_index("ix_seed_pairs_hash", ["server_seed_hash"], unique=False)
        batch_op.create_index("ix_seed_pairs_user", ["user_id", "created_at"], unique=False)

    op.create_table(
        "gacha_box_stock",
        sa.Column("gacha_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("remaining >= 0 AND remaining <= total", name="box_stock_bounds"),
        sa.ForeignKeyConstraint(
            ["gacha_id"],
            ["gachas.id"],
        ),
        sa.PrimaryKeyConstraint("gacha_id", "item_id"),
    )
    with op.batch_alter_table("gacha_box_stock", schema=None) as batch_op:
        batch_op.create_index("ix_gacha_box_stock_order", ["gacha_id", "position"], unique=False)

    op.create_table(
        "gacha_odds_versions",
        sa.Column("gacha_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("published_at", UTC_TIME, nullable=False),
        sa.Column("effective_at", UTC_TIME, nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("effective_at >= published_at", name="odds_version_notice"),
        sa.CheckConstraint("version >= 1", name="odds_version_positive"),
        sa.ForeignKeyConstraint(
            ["gacha_id"],
            ["gachas.id"],
        ),
        sa.PrimaryKeyConstraint("gacha_id", "version"),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_APPEND_ONLY)
        op.execute(PG_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    op.execute("INSERT INTO draw_log_head (id, size) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("gacha_odds_versions")
    with op.batch_alter_table("gacha_box_stock", schema=None) as batch_op:
        batch_op.drop_index("ix_gacha_box_stock_order")

    op.drop_table("gacha_box_stock")
    with op.batch_alter_table("seed_pairs", schema=None) as batch_op:
        batch_op.drop_index("ix_seed_pairs_user")
        batch_op.drop_index("ix_seed_pairs_hash")

    op.drop_table("seed_pairs")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    op.drop_table("inbox")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_expires_at")

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("gachas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gachas_vtuber_id"))
        batch_op.drop_index(batch_op.f("ix_gachas_status"))

    op.drop_table("gachas")
    op.drop_table("fan_gacha_states")
    op.drop_table("fan_draw_months")
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_index("ux_exchanges_user_key")

    op.drop_table("exchanges")
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.drop_index("ux_draws_user_key")
        batch_op.drop_index("ix_draws_user_requested")
        batch_op.drop_index("ix_draws_status_updated")
        batch_op.drop_index("ix_draws_gacha_status")

    op.drop_table("draws")
    with op.batch_alter_table("draw_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_draw_slots_audit")

    op.drop_table("draw_slots")
    op.drop_table("draw_log_pending")
    op.drop_table("draw_log_nodes")
    op.drop_table("draw_log_leaves")
    op.drop_table("draw_log_head")
    with op.batch_alter_table("draw_log_checkpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_draw_log_checkpoints_signed")

    op.drop_table("draw_log_checkpoints")
