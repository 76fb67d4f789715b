"""Wallet tables: medal lots, their movements and holds, spends, operator actions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import BigSerial, UtcDateTime
from koepon.payment.models import Base


class MedalLot(Base):
    """One issuance of medals (COMPLIANCE M2). ``price_jpy`` is what the fan paid for the whole lot
    (tax included, 0 for free medals): the price per medal is the exact fraction
    ``price_jpy / medals``, never a float.

    ``consumed`` counts medals gone for good (used, expired, clawed back), ``held`` medals
    reserved by pending spends; ``remaining`` = ``medals - consumed - held`` is spendable until
    ``expires_at``.
    """

    __tablename__ = "medal_lots"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(4), nullable=False)
    medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    consumed: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    held: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    remaining: Mapped[int] = mapped_column(BigInteger, nullable=False)
    price_jpy: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    source: Mapped[str] = mapped_column(String(30), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    transfer_id: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    expiry_notice_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (
        CheckConstraint("kind IN ('paid', 'free')", name="ck_medal_lots_kind"),
        CheckConstraint("medals > 0", name="ck_medal_lots_medals_positive"),
        CheckConstraint(
            "consumed >= 0 AND held >= 0 AND remaining >= 0", name="ck_medal_lots_not_negative"
        ),
        CheckConstraint(
            "remaining = medals - consumed - held", name="ck_medal_lots_remaining_adds_up"
        ),
        CheckConstraint(
            "price_jpy >= 0 AND (kind = 'paid' OR price_jpy = 0)", name="ck_medal_lots_price"
        ),
        CheckConstraint("expires_at > issued_at", name="ck_medal_lots_expiry_after_issue"),
        Index("ix_medal_lots_user_kind_expiry", "user_id", "kind", "expires_at"),
        Index("ix_medal_lots_expiry", "expires_at"),
        Index("ix_medal_lots_issued", "kind", "issued_at"),
    )


class MedalLotMovement(Base):
    """A final change to a lot (issue, use, expire, claw back, settle) with its exact yen value:
    the daily book (帳簿, COMPLIANCE M3) and the base-date balance are sums of these."""

    __tablename__ = "medal_lot_movements"

    seq: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    lot_id: Mapped[str] = mapped_column(String(36), ForeignKey("medal_lots.id"), nullable=False)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(4), nullable=False)
    entry: Mapped[str] = mapped_column(String(20), nullable=False)
    medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    value_jpy: Mapped[int] = mapped_column(BigInteger, nullable=False)
    transfer_id: Mapped[str] = mapped_column(String(200), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    __table_args__ = (
        CheckConstraint("medals > 0 AND value_jpy >= 0", name="ck_medal_lot_movements_positive"),
        Index("ix_medal_lot_movements_lot", "lot_id", "occurred_at"),
        Index("ix_medal_lot_movements_day", "kind", "occurred_at"),
    )


class MedalSpend(Base):
    """A spend of a fan's medals keyed by the caller's transfer id (e.g. a draw): reserved
    (``pending``) then ``posted`` or ``voided``, or spent at once (``posted``)."""

    __tablename__ = "medal_spends"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    free_medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    paid_medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    two_phase: Mapped[bool] = mapped_column(nullable=False, default=True)
    posted_medals: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    posted_free_medals: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    posted_paid_medals: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    posted_paid_value_jpy: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'posted', 'voided')", name="ck_medal_spends_status"),
        CheckConstraint(
            "medals > 0 AND free_medals >= 0 AND paid_medals >= 0 "
            "AND free_medals + paid_medals = medals",
            name="ck_medal_spends_split",
        ),
        Index("ix_medal_spends_pending", "status", "expires_at"),
    )


class MedalLotHold(Base):
    """The medals a pending spend holds in one lot, returned on void or partial post."""

    __tablename__ = "medal_lot_holds"

    spend_id: Mapped[str] = mapped_column(
        String(160), ForeignKey("medal_spends.id"), primary_key=True
    )
    lot_id: Mapped[str] = mapped_column(String(36), ForeignKey("medal_lots.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # order of consumption
    medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (CheckConstraint("medals > 0", name="ck_medal_lot_holds_positive"),)


class OperatorAction(Base):
    """Who did what to whose wallet, why and when (grants, claw-backs)."""

    __tablename__ = "operator_actions"

    seq: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    actor_user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(30), nullable=False)
    target_user_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(4), nullable=False)
    medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    reference: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
