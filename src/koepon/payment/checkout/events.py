"""Events of medal purchases that other parts of the platform may act on (e.g. mail the fan)."""

from __future__ import annotations

from datetime import datetime

from koepon.contracts import Event


class PurchaseRefused(Event):
    """A payment arrived that would break a spending limit (COMPLIANCE A1–A3), e.g. paid after
    its checkout failed or expired: it was refunded, not credited. The fan is to be told why."""

    topic = "payment.purchase.refused.v1"
    user_id: str
    checkout_id: str
    price_jpy: int
    reason: str
    rule: str
    detail: str
    refused_at: datetime
