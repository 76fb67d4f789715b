"""Tables of the auth service (its own database or PostgreSQL schema)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from koepon.kernel.inbox import inbox_table
from koepon.kernel.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class User(Base):
    """An account. ``email`` is stored lowercased, so uniqueness is case-insensitive."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    display_name: Mapped[str] = mapped_column(String(50), nullable=False)
    # COMPLIANCE A1/R5: used only for age checks, never shown to VTubers, never sent in events.
    birthdate: Mapped[date] = mapped_column(Date, nullable=False)
    roles: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Set by an operator: no sign-in, no refresh, sessions ended (SuspensionChange records it).
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspended_reason: Mapped[str | None] = mapped_column(Text)


class RefreshToken(Base):
    """One opaque refresh token (only its SHA-256 is kept). A family is one sign-in session."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    family_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    parent_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    spent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OneTimeToken(Base):
    """A single-use, expiring token mailed to the user (email verification, password reset)."""

    __tablename__ = "one_time_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    purpose: Mapped[str] = mapped_column(String(30), nullable=False)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_one_time_tokens_user_purpose", "user_id", "purpose"),)


class SpendingLimits(Base):
    """Self-set limits (COMPLIANCE A3). A raise waits in ``pending_*`` until its effective time."""

    __tablename__ = "spending_limits"

    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    monthly_purchase_cap_jpy: Mapped[int | None] = mapped_column(BigInteger)
    pending_purchase_cap_jpy: Mapped[int | None] = mapped_column(BigInteger)
    pending_purchase_cap_effective_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    monthly_draw_cap_medals: Mapped[int | None] = mapped_column(BigInteger)
    pending_draw_cap_medals: Mapped[int | None] = mapped_column(BigInteger)
    pending_draw_cap_effective_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cooling_off_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint(
            "monthly_purchase_cap_jpy IS NULL OR monthly_purchase_cap_jpy >= 0",
            name="purchase_cap",
        ),
        CheckConstraint(
            "monthly_draw_cap_medals IS NULL OR monthly_draw_cap_medals >= 0", name="draw_cap"
        ),
    )


class BirthdateChange(Base):
    """COMPLIANCE A1: users cannot change their birth date; support can, and it is recorded."""

    __tablename__ = "birthdate_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    old_birthdate: Mapped[date] = mapped_column(Date, nullable=False)
    new_birthdate: Mapped[date] = mapped_column(Date, nullable=False)
    changed_by: Mapped[str] = mapped_column(String(36), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class SuspensionChange(Base):
    """Who suspended or reinstated an account, when and why (kept after a reinstatement)."""

    __tablename__ = "suspension_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    action: Mapped[str] = mapped_column(String(10), nullable=False)  # suspend | reinstate
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    changed_by: Mapped[str] = mapped_column(String(36), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class OutgoingMail(Base):
    """Mail written in the business transaction and sent after commit by the dispatcher."""

    __tablename__ = "outgoing_mail"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outgoing_mail_pending", "sent_at", "next_attempt_at"),)


class DevMailboxEntry(Base):
    """A mail kept by the dev mailbox sender (embedded default, never production)."""

    __tablename__ = "dev_mailbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    delivered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, index=True
    )


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
