"""Receipt and payment payloads: fans' purchase history, operators' payment view."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Receipt(BaseModel):
    """One purchase as the fan sees it (COMPLIANCE A4), amounts tax-included (P3)."""

    id: str
    status: str
    pack_name: str
    price_jpy: int = Field(description="Tax-included total in yen")
    tax_jpy: int
    price_label: str
    paid_medals: int
    bonus_medals: int
    provider: str
    method: str | None
    created_at: datetime
    paid_at: datetime | None


class ReceiptPage(BaseModel):
    items: list[Receipt]
    next_cursor: str | None
    month: str
    month_spent_jpy: int


class PaymentEventRead(BaseModel):
    provider_event_id: str
    event_type: str
    status_before: str
    status_after: str
    note: str | None
    received_at: datetime


class PaymentRead(Receipt):
    """A payment as operators see it, with the provider's references."""

    user_id: str
    pack_id: str
    provider_session_id: str | None
    provider_payment_id: str | None
    failure_reason: str | None
    refund_ground: str | None
    credited_at: datetime | None
    clawed_back_at: datetime | None
    updated_at: datetime


class PaymentDetail(PaymentRead):
    events: list[PaymentEventRead]


class PaymentPage(BaseModel):
    items: list[PaymentRead]
    next_cursor: str | None


class RefundRequest(BaseModel):
    """M5: a refund needs a recorded legal ground (business closure, unavoidable reasons…)."""

    legal_ground: str = Field(min_length=5, max_length=500)
