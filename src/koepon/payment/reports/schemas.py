"""Prepaid report response bodies."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class BookDayRead(BaseModel):
    day: date
    paid_issued_medals: int
    paid_issued_jpy: int
    paid_used_medals: int
    paid_used_jpy: int
    paid_expired_medals: int
    paid_expired_jpy: int
    paid_clawed_back_medals: int
    paid_clawed_back_jpy: int
    free_issued_medals: int
    free_used_medals: int
    free_expired_medals: int
    free_clawed_back_medals: int


class PrepaidReportRead(BaseModel):
    """COMPLIANCE M3 (基準日未使用残高) for one base date."""

    base_date: date
    cutoff: datetime = Field(description="End of the base date, JST")
    unused_paid_medals: int
    unused_balance_jpy: int = Field(description="At each lot's issue price")
    lots_counted: int
    threshold_jpy: int
    exceeds_threshold: bool
    alert_threshold_jpy: int
    alert: bool
    exempt: bool = Field(description="Every paid lot valid ≤ 6 months: obligations do not apply")
    obligations_apply: bool
    required_deposit_jpy: int = Field(description="発行保証金: ≥ half the balance, rounded up")
    filing_deadline: date
    period_start: date
    book: list[BookDayRead]
