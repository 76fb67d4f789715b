"""A JST month's sales against the payment service's medal ledger (issue 11).

Each draw completed in the month (its ``draw`` facts, once per draw whatever its collab parties)
names the payment transfer that spent its medals; the ledger says what it posted for it
(``MedalWallets.posted_values``). A draw matches when every one of its rows' ``paid_value_jpy``
equals the yen value of paid medals the ledger posted for a ``posted`` spend. A draw whose
event named no transfer (published before events carried it) is *unverifiable*: nothing is
derived for it. Draws are read and asked in batches of ``BATCH`` (the contract's maximum).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.payment import MAX_POSTED_VALUES, MedalWallets, PostedSpend
from koepon.vtuber.errors import PaymentServiceUnavailable
from koepon.vtuber.payouts.schemas import LISTED, MedalMismatch, MedalReconciliation
from koepon.vtuber.sales.facts import DrawSpend
from koepon.vtuber.sales.service import Sales

log = structlog.get_logger(__name__)

BATCH = MAX_POSTED_VALUES


@dataclass
class MedalTally:
    """The findings so far (pure): counts complete, lists cut at ``LISTED``."""

    month: str
    checked: int = 0
    matching: int = 0
    mismatch_count: int = 0
    missing_count: int = 0
    unverifiable_count: int = 0
    mismatches: list[MedalMismatch] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unverifiable: list[str] = field(default_factory=list)

    def add(self, draw: DrawSpend, posted: dict[str, PostedSpend]) -> None:
        if draw.transfer_id is None:
            self.unverifiable_count += 1
            _listed(self.unverifiable, draw.draw_id)
            return
        self.checked += 1
        spend = posted.get(draw.transfer_id)
        if spend is None:
            self.missing_count += 1
            _listed(self.missing, draw.draw_id)
            return
        value = spend.posted_paid_value_jpy if spend.status == "posted" else None
        if value is not None and draw.min_paid_value_jpy == draw.max_paid_value_jpy == value:
            self.matching += 1
            return
        self.mismatch_count += 1
        if len(self.mismatches) < LISTED:
            differing = draw.min_paid_value_jpy
            if differing == value:  # the rows disagree among themselves: show the odd one
                differing = draw.max_paid_value_jpy
            self.mismatches.append(
                MedalMismatch(
                    draw_id=draw.draw_id,
                    transfer_id=draw.transfer_id,
                    sales_paid_value_jpy=differing,
                    payment_paid_value_jpy=spend.posted_paid_value_jpy,
                    payment_status=spend.status,
                )
            )

    def result(self) -> MedalReconciliation:
        return MedalReconciliation(
            month=self.month,
            checked=self.checked,
            matching=self.matching,
            mismatch_count=self.mismatch_count,
            mismatches=self.mismatches,
            missing_count=self.missing_count,
            missing_in_payment=self.missing,
            unverifiable_count=self.unverifiable_count,
            unverifiable=self.unverifiable,
            balanced=self.mismatch_count == 0 and self.missing_count == 0,
        )


def _listed(items: list[str], draw_id: str) -> None:
    if len(items) < LISTED:
        items.append(draw_id)


async def reconcile(
    session: AsyncSession, sales: Sales, payment: MedalWallets | None, month: str
) -> MedalReconciliation:
    """The month's draws against the medal ledger; ``PaymentServiceUnavailable`` when the
    payment service cannot be asked (not deployed with this one, down, or refusing)."""
    if payment is None:
        raise PaymentServiceUnavailable("The payment service is not reachable from this one")
    tally = MedalTally(month)
    after: str | None = None
    while True:
        draws = await sales.month_draw_spends(session, month, after=after, limit=BATCH)
        if not draws:
            break
        ids = sorted({d.transfer_id for d in draws if d.transfer_id is not None})
        posted = await _posted(payment, ids) if ids else {}
        for draw in draws:
            tally.add(draw, posted)
        if len(draws) < BATCH:
            break
        after = draws[-1].draw_id
    return tally.result()


async def _posted(payment: MedalWallets, transfer_ids: list[str]) -> dict[str, PostedSpend]:
    try:
        return await payment.posted_values(transfer_ids)
    except Exception as exc:  # PaymentUnavailable, timeouts, connection errors, refusals
        log.warning("vtuber.medal_ledger.unavailable", error=repr(exc))
        raise PaymentServiceUnavailable(
            "The payment service's medal ledger cannot be asked right now; nothing was checked"
        ) from exc
