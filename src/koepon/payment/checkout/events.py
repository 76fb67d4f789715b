"""Events of medal purchases that other parts of the platform may act on (e.g. mail the fan).

Their schemas are published in ``contracts/payment.py`` (the auth service mails the fan)."""

from __future__ import annotations

from koepon.contracts.payment import PurchaseRefused

__all__ = ["PurchaseRefused"]
