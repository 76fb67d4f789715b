"""Reconciliation (pure): our checkouts against a provider's payments for one day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from koepon.payment.checkout.states import CheckoutStatus

Difference = Literal["missing_at_provider", "missing_here", "status_mismatch", "amount_mismatch"]
S = CheckoutStatus
# Our checkout statuses and the provider payment statuses that mean the same money state.
_SAME: dict[CheckoutStatus, frozenset[str]] = {
    S.SUCCEEDED: frozenset({"succeeded"}),
    S.PENDING: frozenset({"pending"}),
    S.REFUNDED: frozenset({"refunded"}),
    S.CHARGED_BACK: frozenset({"disputed", "refunded"}),
    S.FAILED: frozenset({"failed", "open", "expired"}),
    S.EXPIRED: frozenset({"expired", "open", "failed"}),
    S.CANCELLED: frozenset({"cancelled", "expired", "open", "failed"}),
    S.OPEN: frozenset({"open", "failed"}),
    S.CREATING: frozenset({"open"}),
}
# Statuses in which money moved (or may have): these must exist on both sides.
MONEY: frozenset[str] = frozenset({"succeeded", "pending", "refunded", "charged_back", "disputed"})


@dataclass(frozen=True)
class Ours:
    checkout_id: str
    reference: str | None  # the provider session id we stored
    status: CheckoutStatus
    amount_jpy: int


@dataclass(frozen=True)
class Theirs:
    reference: str
    checkout_id: str | None
    status: str
    amount_jpy: int


@dataclass(frozen=True)
class Finding:
    kind: Difference
    checkout_id: str | None
    reference: str | None
    ours: str | None
    theirs: str | None

    def line(self) -> str:
        return (
            f"{self.kind}\tcheckout={self.checkout_id or '-'}\treference={self.reference or '-'}"
            f"\tours={self.ours or '-'}\ttheirs={self.theirs or '-'}"
        )


def reconcile(ours: Iterable[Ours], theirs: Iterable[Theirs]) -> list[Finding]:
    """Every difference that matters for money between the two books, in a stable order."""
    mine = list(ours)
    by_reference = {o.reference: o for o in mine if o.reference}
    by_checkout = {o.checkout_id: o for o in mine}
    matched: set[str] = set()
    findings: list[Finding] = []
    for payment in theirs:
        own = by_reference.get(payment.reference) or (
            by_checkout.get(payment.checkout_id) if payment.checkout_id else None
        )
        if own is None:
            if payment.status in MONEY:
                findings.append(
                    Finding(
                        "missing_here", payment.checkout_id, payment.reference, None, payment.status
                    )
                )
            continue
        matched.add(own.checkout_id)
        if own.amount_jpy != payment.amount_jpy:
            findings.append(
                Finding(
                    "amount_mismatch",
                    own.checkout_id,
                    payment.reference,
                    str(own.amount_jpy),
                    str(payment.amount_jpy),
                )
            )
        if payment.status not in _SAME.get(own.status, frozenset({own.status})):
            findings.append(
                Finding(
                    "status_mismatch",
                    own.checkout_id,
                    payment.reference,
                    own.status,
                    payment.status,
                )
            )
    for own in mine:
        if own.checkout_id not in matched and own.status in MONEY:
            findings.append(
                Finding("missing_at_provider", own.checkout_id, own.reference, own.status, None)
            )
    return sorted(findings, key=lambda f: (f.kind, f.checkout_id or "", f.reference or ""))
