"""Monthly statements, payout batches and the yen ledger they post to.

- ``vtuber_statements``: one per VTuber and JST month (``YYYY-MM``), computed once when the month
  is closed and never edited; a refund after closing lands in a later month's statement.
- ``vtuber_payout_batches``: an operator's batch of statements to pay by bank transfer
  (全銀 file); ``paid`` once the operator marks it so.
- ``vtuber_yen_transfers``: double-entry transfers in yen (positive amount, from debit account to
  credit account); balances are sums. ``(ref, reason)`` is unique, so closing a month or paying
  a batch twice posts nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import UtcDateTime
from koepon.vtuber.models import Base


class Statement(Base):
    __tablename__ = "vtuber_statements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vtuber_id: Mapped[str] = mapped_column(String(36), nullable=False)
    month: Mapped[str] = mapped_column(String(7), nullable=False)  # JST month, YYYY-MM
    gross_jpy: Mapped[int] = mapped_column(Integer, nullable=False)
    revenue_share_bp: Mapped[int] = mapped_column(Integer, nullable=False)
    vtuber_share_jpy: Mapped[int] = mapped_column(Integer, nullable=False)
    platform_fee_jpy: Mapped[int] = mapped_column(Integer, nullable=False)
    carried_in_jpy: Mapped[int] = mapped_column(Integer, nullable=False)  # <= 0
    payable_jpy: Mapped[int] = mapped_column(Integer, nullable=False)  # before withholding
    withholding_jpy: Mapped[int] = mapped_column(Integer, nullable=False)
    net_payable_jpy: Mapped[int] = mapped_column(Integer, nullable=False)
    carried_out_jpy: Mapped[int] = mapped_column(Integer, nullable=False)  # <= 0
    entity_type: Mapped[str] = mapped_column(String(16), nullable=False)
    invoice_number: Mapped[str | None] = mapped_column(String(14), nullable=True)
    input_tax_deduction_pct: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # issued | batched | paid
    batch_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    issued_by: Mapped[str] = mapped_column(String(64), nullable=False)  # who closed the month
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("vtuber_id", "month", name="uq_vtuber_statements_month"),
        CheckConstraint("status IN ('issued', 'batched', 'paid')", name="vtuber_statement_status"),
        CheckConstraint("net_payable_jpy >= 0", name="vtuber_statement_net"),
        Index("ix_vtuber_statements_month", "month", "status"),
    )


class PayoutBatch(Base):
    __tablename__ = "vtuber_payout_batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # open | paid
    total_jpy: Mapped[int] = mapped_column(Integer, nullable=False)
    statements: Mapped[int] = mapped_column(Integer, nullable=False)
    transfer_date: Mapped[str] = mapped_column(String(10), nullable=False)  # YYYY-MM-DD
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    paid_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'paid')", name="vtuber_payout_batch_status"),
    )


class YenTransfer(Base):
    __tablename__ = "vtuber_yen_transfers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    debit_account: Mapped[str] = mapped_column(String(80), nullable=False)
    credit_account: Mapped[str] = mapped_column(String(80), nullable=False)
    amount_jpy: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(40), nullable=False)
    ref: Mapped[str] = mapped_column(String(80), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("ref", "reason", name="uq_vtuber_yen_transfers_ref"),
        CheckConstraint("amount_jpy > 0", name="vtuber_yen_transfer_positive"),
        CheckConstraint("debit_account <> credit_account", name="vtuber_yen_transfer_accounts"),
        Index("ix_vtuber_yen_transfers_debit", "debit_account"),
        Index("ix_vtuber_yen_transfers_credit", "credit_account"),
    )
