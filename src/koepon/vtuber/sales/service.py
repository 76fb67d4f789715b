"""Sales facts from the gacha's events, and the figures read from them.

Every event is handled in one transaction with its inbox claim, so a redelivered message changes
nothing; the facts' unique key (draw, VTuber, kind) makes an event published twice under another
message id count once too. The events of one draw are serialised (``repository.lock_draw``).
A payload that breaks the contract can never succeed: it is logged (``vtuber.event_rejected``,
where and what, never the values) and skipped — the VTuber service has no table for rejected
events; its inbox claim keeps it from being tried again.

Reversals: one that carries its figures (gacha, VTuber, paid yen, shares) is written from them
— the draw's slots and medals taken from this service's draw rows when it has them, or filled in
when the draw arrives later. One that carries none (published before those fields existed) is
written from this service's draw rows, or, when the draw is not known yet, kept *pending*
(``facts.pending``) until the draw arrives: nothing waits on a redelivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.gacha import DrawCompleted, DrawReversed
from koepon.contracts.vtuber import Permission
from koepon.kernel.bus import Message
from koepon.kernel.clock import jst_day
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.errors import NotAllowed
from koepon.vtuber.gachas.events import Malformed, describe
from koepon.vtuber.gachas.service import GachaCopies
from koepon.vtuber.sales import facts, repository
from koepon.vtuber.sales.events import carries_figures, earning, parse
from koepon.vtuber.sales.periods import month_days, report_range
from koepon.vtuber.sales.report import FanCounts, build
from koepon.vtuber.sales.schemas import GachaMonth, SalesReport
from koepon.vtuber.teams.service import Teams

log = structlog.get_logger(__name__)

CONSUMER = "vtuber.sales"
TOPICS = ("gacha.draw.completed.v1", "gacha.draw.reversed.v1")


@dataclass(frozen=True)
class Outcome:
    """What handling one message did (tests and logs)."""

    written: int = 0  # fact rows written
    completed: int = 0  # reversal rows given their draw's figures
    pending: bool = False  # a reversal kept until its draw arrives
    rejected: bool = False


class Sales:
    def __init__(self, ctx: VtuberContext, teams: Teams, gachas: GachaCopies) -> None:
        self.ctx = ctx
        self.teams = teams
        self.gachas = gachas

    # --- the consumer ----------------------------------------------------------------------

    async def handle(self, message: Message) -> None:
        await self.apply(message)

    async def apply(self, message: Message) -> Outcome:
        """``handle``, telling what it did."""
        async with self.ctx.db.transaction() as session:
            claimed = await self.ctx.inbox.claim(
                session, consumer=CONSUMER, message_id=message.id, topic=message.topic
            )
            if not claimed:
                return Outcome()
            try:
                event = parse(message)
            except (ValidationError, Malformed) as exc:
                log.error(
                    "vtuber.event_rejected",
                    consumer=CONSUMER,
                    message_id=message.id,
                    topic=message.topic,
                    error=describe(exc),
                )
                return Outcome(rejected=True)
            await repository.lock_draw(session, event.draw_id)
            if isinstance(event, DrawCompleted):
                return await self._completed(session, event)
            return await self._reversed(session, event)

    async def _completed(self, session: AsyncSession, event: DrawCompleted) -> Outcome:
        rows = facts.for_draw(event, earning(event.vtuber_id, event.shares))
        written = await repository.add(session, rows)
        figures = rows[0].figures
        completed = await repository.complete_reversals(session, event.draw_id, figures)
        reversals = await repository.of_draw(session, event.draw_id, facts.REVERSAL)
        waiting = [r for r in reversals if r.vtuber_id == facts.PENDING]
        if waiting and len(waiting) == len(reversals):  # reversed before we knew the draw
            at = waiting[0].occurred_at
            written += await repository.add(session, [facts.reversing(r, at) for r in rows])
        log.info(
            "vtuber.sale_recorded", draw_id=event.draw_id, written=written, completed=completed
        )
        return Outcome(written=written, completed=completed)

    async def _reversed(self, session: AsyncSession, event: DrawReversed) -> Outcome:
        draws = [
            repository.as_fact(row)
            for row in await repository.of_draw(session, event.draw_id, facts.DRAW)
        ]
        if carries_figures(event):
            rows = facts.for_reversal(
                draw_id=event.draw_id,
                user_id=event.user_id,
                gacha_id=event.gacha_id or "",
                at=event.reversed_at,
                paid_value_jpy=event.paid_value_jpy,
                parties=earning(event.vtuber_id or "", event.shares),
                figures=draws[0].figures if draws else None,
            )
        elif draws:
            rows = [facts.reversing(draw, event.reversed_at) for draw in draws]
        else:
            rows = [
                facts.pending(draw_id=event.draw_id, user_id=event.user_id, at=event.reversed_at)
            ]
            written = await repository.add(session, rows)
            log.info("vtuber.reversal_pending", draw_id=event.draw_id)
            return Outcome(written=written, pending=True)
        written = await repository.add(session, rows)
        log.info("vtuber.sale_reversed", draw_id=event.draw_id, written=written)
        return Outcome(written=written)

    # --- what payouts read -----------------------------------------------------------------

    async def month_gross(self, session: AsyncSession, vtuber_id: str, month: str) -> int:
        """``vtuber_id``'s yen value in JST ``month`` ('YYYY-MM'), reversals dated in the month
        taken off (may be negative). ``InvalidMonth`` for a malformed month."""
        first, following = month_days(month)
        return await repository.month_value(session, vtuber_id, first, following)

    async def month_totals(self, session: AsyncSession, month: str) -> dict[str, int]:
        """Every VTuber with sales or reversals in JST ``month``: VTuber id → ``month_gross``."""
        first, following = month_days(month)
        return await repository.month_values(session, first, following)

    async def month_draw_spends(
        self, session: AsyncSession, month: str, *, after: str | None, limit: int
    ) -> list[facts.DrawSpend]:
        """The draws completed in JST ``month``, by draw id after ``after`` (at most ``limit``):
        what sales recorded they were paid, with their payment transfer ids."""
        first, following = month_days(month)
        return await repository.month_draw_spends(
            session, first, following, after=after, limit=limit
        )

    async def month_breakdown(
        self, session: AsyncSession, vtuber_id: str, month: str
    ) -> list[GachaMonth]:
        """``month_gross`` per gacha (``GachaMonth``), largest net first."""
        first, following = month_days(month)
        lines: dict[str, dict[str, int]] = {}
        for gacha_id, kind, draws, paid, free, value in await repository.month_by_gacha(
            session, vtuber_id, first, following
        ):
            line = lines.setdefault(
                gacha_id, dict.fromkeys(("draws", "paid", "free", "value", "refunds"), 0)
            )
            if kind == facts.DRAW:
                line["draws"] += draws
                line["paid"] += paid
                line["free"] += free
                line["value"] += value
            else:
                line["refunds"] -= value
        known = await self.gachas.get_many(session, lines.keys())
        breakdown = [
            GachaMonth(
                gacha_id=gacha_id,
                title=known[gacha_id].title if gacha_id in known else gacha_id,
                draws=line["draws"],
                paid_medals=line["paid"],
                free_medals=line["free"],
                value_jpy=line["value"],
                refunds_jpy=line["refunds"],
                net_jpy=line["value"] - line["refunds"],
            )
            for gacha_id, line in lines.items()
        ]
        breakdown.sort(key=lambda g: (-g.net_jpy, g.gacha_id))
        return breakdown

    # --- the report ------------------------------------------------------------------------

    async def report(
        self,
        session: AsyncSession,
        *,
        vtuber_id: str,
        user_id: str,
        roles: frozenset[str],
        start: date | None = None,
        end: date | None = None,
        gacha_id: str | None = None,
    ) -> SalesReport:
        """``vtuber_id``'s sales per gacha and JST day over [start, end] (default: the last 30
        days), for a caller holding ``sales.read`` for that VTuber (else ``NotAllowed``)."""
        if Permission.SALES_READ not in await self.teams.permissions(
            session, vtuber_id, user_id, roles
        ):
            raise NotAllowed("Reading this VTuber's sales needs the sales.read permission")
        start, end = report_range(start, end, jst_day(self.ctx.now()))
        sums = await repository.day_sums(session, vtuber_id, start, end, gacha_id)
        gacha_ids = {row.gacha_id for row in sums}
        if gacha_id is not None:
            gacha_ids.add(gacha_id)
        gachas = await self.gachas.get_many(session, gacha_ids)
        boxes = [g for g in gacha_ids if g in gachas and gachas[g].kind == "box"]

        async def fans(by: str | None) -> dict[Any, int]:
            return await repository.fans(session, vtuber_id, start, end, gacha_id, by=by)

        counted = FanCounts(
            total=(await fans(None)).get(None, 0),
            per_day=await fans("day"),
            per_gacha=await fans("gacha"),
            per_gacha_day=await fans("gacha_day"),
        )
        return build(
            vtuber_id=vtuber_id,
            start=start,
            end=end,
            gacha_id=gacha_id,
            sums=sums,
            fans=counted,
            gachas=gachas,
            drawn_before=await repository.drawn_before(session, vtuber_id, boxes, start),
        )
