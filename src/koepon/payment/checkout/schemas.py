"""Checkout payloads: the fan's request and what the purchase screen gets back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from koepon.payment.checkout.states import CheckoutStatus


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


@dataclass(frozen=True)
class EventApplied:
    """What one provider event did: ``duplicate`` (its id was seen before: nothing done),
    else ``applied`` (it changed the checkout or its medals), the checkout's ``status`` after
    it, ``reason`` when no checkout was found, and ``refund_sent`` when the event was money the
    limits refused (whether the provider accepted the refund at once)."""

    event_id: str
    duplicate: bool = False
    applied: bool | None = None
    checkout_id: str | None = None
    status: CheckoutStatus | None = None
    reason: str | None = None
    refund_owed: bool = False
    refund_sent: bool | None = None

    def body(self) -> dict[str, object]:
        """The webhook answer and log fields: what was found, without the unset parts."""
        fields: dict[str, object] = {"duplicate": self.duplicate, "event_id": self.event_id}
        for name in ("applied", "checkout_id", "status", "reason", "refund_sent"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = str(value) if name == "status" else value
        return fields
