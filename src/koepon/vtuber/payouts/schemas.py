"""Payouts' request and response bodies: statements, closings, batches, reconciliation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from koepon.vtuber.payouts.months import MONTH_PATTERN

MonthText = str
LISTED = 100  # draws listed per kind of finding in a medal reconciliation (counts are complete)
_MONTH_FIELD = Field(pattern=MONTH_PATTERN, description="JST month, YYYY-MM")


class StatementRead(BaseModel):
    """One VTuber's statement for one JST month; amounts in integer yen."""

    id: str
    vtuber_id: str
    month: str
    entity_type: Literal["individual", "corporation"]
    seller_of_record: Literal["platform"] = "platform"
    gross_jpy: int = Field(description="the VTuber's part of paid medals' yen value, refunds off")
    revenue_share_bp: int
    vtuber_share_jpy: int = Field(description="floor(gross × share_bp / 10,000)")
    platform_fee_jpy: int = Field(description="gross − share")
    carried_in_jpy: int = Field(description="debt (≤ 0) carried from the previous statement")
    payable_jpy: int = Field(description="share + carried_in, before withholding")
    withholding_jpy: int = Field(description="源泉徴収 (R2): individuals only")
    net_payable_jpy: int
    carried_out_jpy: int = Field(description="debt (≤ 0) carried to the next statement")
    invoice_number: str | None
    input_tax_deduction_pct: int = Field(description="仕入税額控除 percentage (R3)")
    status: Literal["issued", "batched", "paid"]
    batch_id: str | None
    issued_at: datetime
    paid_at: datetime | None


class GachaLine(BaseModel):
    """One gacha's part of the month (from sales, as of now)."""

    gacha_id: str
    title: str
    draws: int
    paid_medals: int
    free_medals: int
    value_jpy: int
    refunds_jpy: int
    net_jpy: int


class StatementDetail(StatementRead):
    gachas: list[GachaLine]


class StatementPage(BaseModel):
    items: list[StatementRead]
    next_cursor: str | None = Field(description="pass as ?cursor= for older statements")


class MonthTotals(BaseModel):
    gross_jpy: int
    vtuber_share_jpy: int
    platform_fee_jpy: int
    withholding_jpy: int
    net_payable_jpy: int


class MonthStatements(BaseModel):
    month: str
    statements: list[StatementRead]
    totals: MonthTotals


class CloseMonth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: MonthText = _MONTH_FIELD


class MonthClosing(MonthStatements):
    issued: int = Field(description="statements issued by this request (0 when closed before)")
    requested_by: str


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: MonthText = _MONTH_FIELD
    transfer_date: date = Field(description="振込指定日 (JST), a weekday, today or later")


class BatchLine(BaseModel):
    statement_id: str
    vtuber_id: str
    net_payable_jpy: int


class HeldStatement(BaseModel):
    """A statement left out of the batch: its bank details cannot be written in a 全銀 file."""

    statement_id: str
    vtuber_id: str
    reason: str


class BatchRead(BaseModel):
    id: str
    month: str
    status: Literal["open", "paid"]
    total_jpy: int
    statements: int
    transfer_date: date
    created_by: str
    created_at: datetime
    paid_by: str | None
    paid_at: datetime | None
    lines: list[BatchLine]


class BatchCreated(BatchRead):
    held: list[HeldStatement]


class BatchList(BaseModel):
    items: list[BatchRead]


class GrossMismatch(BaseModel):
    vtuber_id: str
    statement_gross_jpy: int | None
    sales_gross_jpy: int


class AccountCheck(BaseModel):
    account: str
    expected_jpy: int
    actual_jpy: int
    balanced: bool


class Reconciliation(BaseModel):
    """A month's statements against sales, and the yen ledger against every statement."""

    month: str
    statements: int
    statements_gross_jpy: int
    sales_gross_jpy: int
    gross_mismatches: list[GrossMismatch]
    unposted_statements: list[str] = Field(
        description="statements of the month whose ledger transfers differ from their figures"
    )
    accounts: list[AccountCheck] = Field(description="balances against all statements so far")
    balanced: bool


class MedalMismatch(BaseModel):
    draw_id: str
    transfer_id: str
    sales_paid_value_jpy: int = Field(description="what the sales facts say the draw was paid")
    payment_paid_value_jpy: int | None = Field(
        description="the yen value of paid medals the medal ledger posted (None: not posted)"
    )
    payment_status: Literal["pending", "posted", "voided"]


class MedalReconciliation(BaseModel):
    """A JST month's draws (sales facts) against the payment service's medal ledger."""

    month: str
    checked: int = Field(description="draws with a payment transfer id, asked of the ledger")
    matching: int
    mismatch_count: int
    mismatches: list[MedalMismatch] = Field(description=f"the first {LISTED} by draw id")
    missing_count: int
    missing_in_payment: list[str] = Field(
        description=f"draw ids whose transfer the ledger does not know (the first {LISTED})"
    )
    unverifiable_count: int
    unverifiable: list[str] = Field(
        description=f"draw ids whose event named no transfer: not checked (the first {LISTED})"
    )
    balanced: bool = Field(description="every checked draw matches and none is missing")
