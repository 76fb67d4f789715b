"""Ledger tables: accounts with integer balances and immutable transfers."""

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


class LedgerAccount(Base):
    """One account of one ledger (paid or free medals). Balances change only with transfers."""

    __tablename__ = "ledger_accounts"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    ledger: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[int] = mapped_column(Integer, nullable=False)
    flags: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    debits_pending: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    __table_args__ = (
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 "
            "AND credits_pending >= 0 AND credits_posted >= 0",
            name="ck_ledger_accounts_balances_not_negative",
        ),
        # AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS = 1: a fan's wallet never goes below zero.
        CheckConstraint(
            "(flags & 1) = 0 OR debits_pending + debits_posted <= credits_posted",
            name="ck_ledger_accounts_debits_must_not_exceed_credits",
        ),
        # AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS = 2: a debt is never over-repaid.
        CheckConstraint(
            "(flags & 2) = 0 OR credits_pending + credits_posted <= debits_posted",
            name="ck_ledger_accounts_credits_must_not_exceed_debits",
        ),
    )


class LedgerTransfer(Base):
    """An immutable transfer; ``id`` is the caller's idempotency key. Never updated or deleted
    (database triggers refuse it); corrections are new transfers."""

    __tablename__ = "ledger_transfers"

    seq: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    debit_account_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("ledger_accounts.id"), nullable=False
    )
    credit_account_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("ledger_accounts.id"), nullable=False
    )
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ledger: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[int] = mapped_column(Integer, nullable=False)
    flags: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Unique: a pending transfer is resolved (posted or voided) at most once, even under races.
    pending_id: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    timeout_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    user_data: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    __table_args__ = (
        CheckConstraint("amount >= 0", name="ck_ledger_transfers_amount_not_negative"),
        CheckConstraint(
            "debit_account_id <> credit_account_id",
            name="ck_ledger_transfers_accounts_differ",
        ),
        # TransferFlags.POST_PENDING | VOID_PENDING = 12: a resolution names what it resolves.
        CheckConstraint(
            "(flags & 12) = 0 OR pending_id IS NOT NULL",
            name="ck_ledger_transfers_resolution_has_pending_id",
        ),
        Index("ix_ledger_transfers_debit", "debit_account_id", "seq"),
        Index("ix_ledger_transfers_credit", "credit_account_id", "seq"),
    )
