"""Checkout tables: checkouts, the events applied to them, per-fan purchase locks, and the
service's idempotency keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import BigSerial, UtcDateTime
from koepon.kernel.idempotency import idempotency_table
from koepon.payment.models import Base

idempotency_keys = idempotency_table(Base.metadata)


class Checkout(Base):
    """One attempt to buy one medal pack through one provider. Price and medals are copied from
    the pack when the checkout is made, so later pack edits never change a purchase."""

    __tablename__ = "checkouts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    pack_id: Mapped[str] = mapped_column(String(36), nullable=False)
    pack_name: Mapped[str] = mapped_column(String(100), nullable=False)
    provider: Mapped[str] = mapped_column(String(20), nullable=False)
    method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    price_jpy: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tax_jpy: Mapped[int] = mapped_column(BigInteger, nullable=False)
    paid_medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    bonus_medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # JST calendar month (YYYY-MM) of the purchase date, for the A2/A3 monthly caps.
    purchase_month: Mapped[str] = mapped_column(String(7), nullable=False)
    provider_session_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    redirect_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    confirmation: Mapped[dict] = mapped_column(JSON, nullable=False)  # type: ignore[type-arg]
    credited_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    clawed_back_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    refund_ground: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint(
            "status IN ('creating', 'open', 'pending', 'succeeded', 'failed', 'expired', "
            "'cancelled', 'refunded', 'charged_back')",
            name="ck_checkouts_status",
        ),
        CheckConstraint(
            "price_jpy > 0 AND tax_jpy >= 0 AND paid_medals > 0 AND bonus_medals >= 0",
            name="ck_checkouts_amounts",
        ),
        Index("ix_checkouts_user_month", "user_id", "purchase_month", "status"),
        Index("ix_checkouts_user_created", "user_id", "created_at"),
        Index("ix_checkouts_provider_created", "provider", "created_at"),
        Index("ix_checkouts_provider_session", "provider", "provider_session_id"),
        Index("ix_checkouts_provider_payment", "provider", "provider_payment_id"),
    )


class CheckoutEvent(Base):
    """A provider event applied (or found irrelevant) to a checkout: the payment's history."""

    __tablename__ = "checkout_events"

    seq: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    checkout_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(String(20), nullable=False)
    provider_event_id: Mapped[str] = mapped_column(String(255), nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    status_before: Mapped[str] = mapped_column(String(20), nullable=False)
    status_after: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class PurchaseLock(Base):
    """One row per fan, locked while a checkout is admitted: the cap check and the new checkout
    row are then serialised per fan, so two checkouts at once cannot both pass a cap."""

    __tablename__ = "purchase_locks"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
