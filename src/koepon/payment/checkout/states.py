"""The checkout state machine (pure): what a provider event does to a checkout, in any order.

Providers deliver events at least once and in no particular order. The rules: a failed,
expired or cancelled checkout is over (a new try is a new checkout, checked against the limits
again), so nothing but money moves it; money received wins over failure, expiry or a cancel (a
late ``succeeded`` is credited, after the service re-checks the spending limits at that moment,
or refunded); nothing downgrades a paid checkout except a refund or a chargeback; refunds and
chargebacks are final. Medals are credited at most once and clawed back at most once, and only
if credited.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from koepon.payment.providers.base import EventKind as EventKind  # re-exported


class CheckoutStatus(StrEnum):
    """``checkouts.status``; compare through these members, never bare strings."""

    CREATING = "creating"  # our row exists; the provider session is being created
    OPEN = "open"  # the hosted page is waiting for the fan
    PENDING = "pending"  # paid later (konbini, bank transfer): waiting for the money
    SUCCEEDED = "succeeded"  # paid: medals credited
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # the fan gave up the hosted page (there, or through our API)
    REFUNDED = "refunded"
    CHARGED_BACK = "charged_back"


STATUSES: tuple[CheckoutStatus, ...] = tuple(CheckoutStatus)
EVENT_KINDS: tuple[EventKind, ...] = (
    "pending",
    "succeeded",
    "failed",
    "expired",
    "cancelled",
    "refunded",
    "dispute_opened",
    "dispute_closed",
)
S = CheckoutStatus
# Statuses whose price counts toward the month's spend (COMPLIANCE A2/A3): paid, or reserving
# room (an unpaid hosted page reserves only until it expires).
COUNTS_TOWARD_CAP: frozenset[CheckoutStatus] = frozenset(
    {S.CREATING, S.OPEN, S.PENDING, S.SUCCEEDED}
)
RESERVING_UNTIL_EXPIRY: frozenset[CheckoutStatus] = frozenset({S.CREATING, S.OPEN})
FINAL: frozenset[CheckoutStatus] = frozenset({S.REFUNDED, S.CHARGED_BACK})
_UNPAID: frozenset[CheckoutStatus] = frozenset(
    {S.CREATING, S.OPEN, S.PENDING, S.FAILED, S.EXPIRED, S.CANCELLED}
)
# Purchases a fan sees in their history: money moved or is on its way.
IN_HISTORY: frozenset[CheckoutStatus] = frozenset(
    {S.PENDING, S.SUCCEEDED, S.REFUNDED, S.CHARGED_BACK}
)
# A hosted page still waiting for the fan: it can still be paid, given up or expire.
WAITING_FOR_FAN: frozenset[CheckoutStatus] = frozenset({S.CREATING, S.OPEN})


@dataclass(frozen=True)
class Transition:
    """The checkout's next status and the medal movements the event calls for."""

    status: CheckoutStatus
    credit: bool = False
    claw_back: bool = False

    def changes(self, status: CheckoutStatus) -> bool:
        return self.status != status or self.credit or self.claw_back


def _next_status(status: CheckoutStatus, event: EventKind) -> CheckoutStatus:
    if status in FINAL:
        return status
    if event == "refunded":
        return S.REFUNDED
    if event == "dispute_opened":
        return S.CHARGED_BACK
    if event == "dispute_closed":
        return status  # recorded; a won dispute is re-credited by an operator, not here
    if event == "succeeded":
        return S.SUCCEEDED
    if status == S.SUCCEEDED:
        return status  # never downgraded by pending/failed/expired arriving late
    if event == "pending":
        # Only an open page turns into a konbini/bank payment: a failed or expired checkout is
        # over and would otherwise take room under the monthly cap again without a check.
        return S.PENDING if status in WAITING_FOR_FAN else status
    if event == "failed":
        return S.FAILED if status in (S.CREATING, S.OPEN, S.PENDING) else status
    if event == "cancelled":
        # Only a page still waiting for the fan can be given up: a konbini slip already issued
        # is left to be paid or to expire, as the providers do.
        return S.CANCELLED if status in WAITING_FOR_FAN else status
    # expired
    return S.EXPIRED if status in (S.CREATING, S.OPEN, S.PENDING) else status


def transition(
    status: CheckoutStatus, event: EventKind, *, credited: bool, clawed_back: bool
) -> Transition:
    """Apply one provider event to a checkout in ``status``."""
    target = _next_status(CheckoutStatus(status), event)
    return Transition(
        status=target,
        credit=target == S.SUCCEEDED and not credited,
        claw_back=target in FINAL and credited and not clawed_back,
    )


def is_unpaid(status: CheckoutStatus) -> bool:
    return CheckoutStatus(status) in _UNPAID
