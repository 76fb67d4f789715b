"""The sandbox provider's own records (it plays an outside provider, so it keeps its own book):
its payments and the webhooks it owes the platform."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import UtcDateTime
from koepon.payment.models import Base


class SandboxPayment(Base):
    """One sandbox hosted-page session and the payment made on it."""

    __tablename__ = "sandbox_payments"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    checkout_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    payment_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    amount_jpy: Mapped[int] = mapped_column(BigInteger, nullable=False)
    method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    confirmation: Mapped[dict] = mapped_column(JSON, nullable=False)  # type: ignore[type-arg]
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    success_url: Mapped[str] = mapped_column(String(2000), nullable=False)
    cancel_url: Mapped[str] = mapped_column(String(2000), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index("ix_sandbox_payments_created", "created_at"),)


class SandboxWebhook(Base):
    """One webhook the sandbox owes the platform, kept until delivered: like a real provider it
    retries with back-off from this durable record, so a restart resumes delivery."""

    __tablename__ = "sandbox_webhooks"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event_type: Mapped[str] = mapped_column(String(40), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # the event JSON, signed when sent
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index("ix_sandbox_webhooks_due", "next_attempt_at"),)
