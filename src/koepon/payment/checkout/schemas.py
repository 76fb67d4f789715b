"""Checkout payloads: the fan's request and what the purchase screen gets back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CheckoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack_id: str = Field(min_length=1, max_length=64)
    provider: Literal["sandbox", "stripe", "komoju"]
    method: Literal["card", "konbini", "paypay", "bank_transfer"] | None = None


class CheckoutRead(BaseModel):
    id: str
    status: str
    provider: str
    method: str | None
    pack_id: str
    price_jpy: int = Field(description="Tax-included total in yen")
    tax_jpy: int
    paid_medals: int
    bonus_medals: int
    redirect_url: str | None = Field(description="The provider's hosted payment page")
    reason: str | None = Field(
        None, description='Why it failed or was refunded, e.g. "spending_cap_exceeded:A2"'
    )
    refund_ground: str | None = Field(
        None, description="The legal ground of a payment refunded instead of credited"
    )
    expires_at: datetime
    created_at: datetime
    confirmation: dict[str, Any] = Field(description="Final confirmation data (COMPLIANCE P2)")
    disclosures: dict[str, Any] = Field(description="Prepaid instrument disclosures (M4)")
