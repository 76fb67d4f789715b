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
from typing import Literal

from koepon.payment.providers.base import EventKind as EventKind  # re-exported

Status = Literal[
    "creating",  # our row exists; the provider session is being created
    "open",  # the hosted page is waiting for the fan
    "pending",  # paid later (konbini, bank transfer): waiting for the money
    "succeeded",  # paid: medals credited
    "failed",
    "expired",
    "cancelled",  # the fan gave up the hosted page (there, or through our API)
    "refunded",
    "charged_back",
]
STATUSES: tuple[Status, ...] = (
    "creating",
    "open",
    "pending",
    "succeeded",
    "failed",
    "expired",
    "cancelled",
    "refunded",
    "charged_back",
)
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
# Statuses whose price counts toward the month's spend (COMPLIANCE A2/A3): paid, or reserving
# room (an unpaid hosted page reserves only until it expires).
COUNTS_TOWARD_CAP: frozenset[Status] = frozenset({"creating", "open", "pending", "succeeded"})
RESERVING_UNTIL_EXPIRY: frozenset[Status] = frozenset({"creating", "open"})
FINAL: frozenset[Status] = frozenset({"refunded", "charged_back"})
_UNPAID: frozenset[Status] = frozenset(
    {"creating", "open", "pending", "failed", "expired", "cancelled"}
)


@dataclass(frozen=True)
class Transition:
    """The checkout's next status and the medal movements the event calls for."""

    status: Status
    credit: bool = False
    claw_back: bool = False

    def changes(self, status: Status) -> bool:
        return self.status != status or self.credit or self.claw_back


def _next_status(status: Status, event: EventKind) -> Status:
    if status in FINAL:
        return status
    if event == "refunded":
        return "refunded"
    if event == "dispute_opened":
        return "charged_back"
    if event == "dispute_closed":
        return status  # recorded; a won dispute is re-credited by an operator, not here
    if event == "succeeded":
        return "succeeded"
    if status == "succeeded":
        return status  # never downgraded by pending/failed/expired arriving late
    if event == "pending":
        # Only an open page turns into a konbini/bank payment: a failed or expired checkout is
        # over and would otherwise take room under the monthly cap again without a check.
        return "pending" if status in ("creating", "open") else status
    if event == "failed":
        return "failed" if status in ("creating", "open", "pending") else status
    if event == "cancelled":
        # Only a page still waiting for the fan can be given up: a konbini slip already issued
        # is left to be paid or to expire, as the providers do.
        return "cancelled" if status in ("creating", "open") else status
    # expired
    return "expired" if status in ("creating", "open", "pending") else status


def transition(
    status: Status, event: EventKind, *, credited: bool, clawed_back: bool
) -> Transition:
    """Apply one provider event to a checkout in ``status``."""
    target = _next_status(status, event)
    return Transition(
        status=target,
        credit=target == "succeeded" and not credited,
        claw_back=target in FINAL and credited and not clawed_back,
    )


def is_unpaid(status: Status) -> bool:
    return status in _UNPAID
