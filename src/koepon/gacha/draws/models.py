"""Draw tables: draws (the saga's state), their slots, per-fan state per gacha and per month,
and exchanges of points for items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from koepon.gacha.models import Base
from koepon.kernel.dbtypes import UtcDateTime


class Draw(Base):
    """One paid draw (single, 10連 or a step-up step) and where its saga stands.

    ``status`` (``states.DrawStatus``): accepted → drawn → completed; or refused (no medals
    were held) or voiding → voided (the held medals are being / were released). The row is also
    the draw's idempotency record: one row per (fan, ``Idempotency-Key``), bound to the
    request's ``fingerprint``.
    """

    __tablename__ = "draws"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    gacha_id: Mapped[str] = mapped_column(String(36), nullable=False)
    vtuber_id: Mapped[str] = mapped_column(String(64), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    price_medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    odds_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seed_pair_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    server_seed_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client_seed: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_nonce: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    paid_medals: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    free_medals: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    paid_value_jpy: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    points_earned: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    month: Mapped[str] = mapped_column(String(7), nullable=False)  # JST YYYY-MM (A3 draw cap)
    day: Mapped[str] = mapped_column(String(10), nullable=False)  # JST date (per-day limits)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The fan opted in to show the pull on the VTuber's stream overlay (DrawCompleted.on_stream).
    show_on_stream: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint(
            "status IN ('accepted', 'drawn', 'completed', 'refused', 'voiding', 'voided')",
            name="draws_status",
        ),
        CheckConstraint("count >= 1 AND price_medals >= 0", name="draws_amounts"),
        Index("ux_draws_user_key", "user_id", "idempotency_key", unique=True),
        Index("ix_draws_user_requested", "user_id", "requested_at"),
        Index("ix_draws_status_updated", "status", "updated_at"),
        Index("ix_draws_gacha_status", "gacha_id", "status"),
    )


class DrawSlot(Base):
    """One slot of a completed draw (written when it completes), for audits: observed vs
    declared rates per table and item."""

    __tablename__ = "draw_slots"

    draw_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    gacha_id: Mapped[str] = mapped_column(String(36), nullable=False)
    odds_version: Mapped[int] = mapped_column(Integer, nullable=False)
    table: Mapped[str] = mapped_column(String(32), nullable=False)
    item_id: Mapped[str] = mapped_column(String(64), nullable=False)
    rarity: Mapped[str] = mapped_column(String(4), nullable=False)
    nonce: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (Index("ix_draw_slots_audit", "gacha_id", "odds_version", "table"),)


class FanGachaState(Base):
    """A fan's standing in one gacha: slots drawn (all time and on ``day``), pity progress,
    exchange points and the next step-up step. Locked by the saga for the fan's draws."""

    __tablename__ = "fan_gacha_states"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gacha_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    drawn: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    day: Mapped[str] = mapped_column(String(10), nullable=False, default="")
    drawn_on_day: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    pity: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (
        CheckConstraint("drawn >= 0 AND drawn_on_day >= 0 AND pity >= 0", name="fan_state_counts"),
        CheckConstraint("points >= 0", name="fan_state_points"),
    )


class FanMonth(Base):
    """Medals a fan committed to draws in one JST month (the self-set draw cap, COMPLIANCE A3)."""

    __tablename__ = "fan_draw_months"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    medals: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)

    __table_args__ = (CheckConstraint("medals >= 0", name="fan_month_medals"),)


class Exchange(Base):
    """Points spent on a chosen item (交換ポイント); one per (fan, Idempotency-Key)."""

    __tablename__ = "exchanges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    gacha_id: Mapped[str] = mapped_column(String(36), nullable=False)
    item_id: Mapped[str] = mapped_column(String(64), nullable=False)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index("ux_exchanges_user_key", "user_id", "idempotency_key", unique=True),)


class DrawReversal(Base):
    """An operator's reversal of a completed draw (e.g. after the chargeback of the purchase
    that paid for it): the draw stays in its history and in the public log; the rewards service
    revokes what it granted (``gacha.draw.reversed.v1``). One per draw."""

    __tablename__ = "draw_reversals"

    draw_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    reversed_by: Mapped[str] = mapped_column(String(64), nullable=False)
    reversed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
