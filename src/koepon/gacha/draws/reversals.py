"""Operators reverse a completed draw: recorded once, announced to the rewards service.

A reversal is an annotation, not an undo: the draw stays completed in the fan's history and in
the public draw log (which is append-only), its medals stay spent (the chargeback that usually
causes it has already taken the money back), and the rewards service revokes the entitlements it
granted when ``gacha.draw.reversed.v1`` reaches it; the event also says what the draw earned
(its gacha, VTuber, yen value of paid medals and collab shares) for the VTuber service's sales.
Reversing twice answers the first reversal.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.gacha import DrawReversed
from koepon.gacha.catalog.events import shares_of
from koepon.gacha.catalog.service import Catalog
from koepon.gacha.context import GachaContext
from koepon.gacha.draws import repository
from koepon.gacha.draws.models import DrawReversal
from koepon.gacha.draws.schemas import ReversalRead
from koepon.gacha.draws.states import DrawStatus
from koepon.gacha.errors import DrawNotFound, DrawNotReversible


def _read(row: DrawReversal) -> ReversalRead:
    return ReversalRead(
        draw_id=row.draw_id,
        user_id=row.user_id,
        reason=row.reason,
        reversed_by=row.reversed_by,
        reversed_at=row.reversed_at,
    )


class Reversals:
    def __init__(self, ctx: GachaContext, catalog: Catalog) -> None:
        self.ctx = ctx
        self.catalog = catalog

    async def reverse(
        self, session: AsyncSession, operator_id: str, draw_id: str, reason: str
    ) -> ReversalRead:
        """Reverse a completed draw (the draw row locked meanwhile, so two operators' clicks
        record one reversal and publish one event)."""
        draw = await repository.get(session, draw_id, lock=True)
        if draw is None:
            raise DrawNotFound(f"No draw {draw_id}")
        done = await repository.reversal(session, draw_id)
        if done is not None:
            return _read(done)
        if draw.status != DrawStatus.COMPLETED:
            raise DrawNotReversible(
                f"Draw {draw_id} is {draw.status}; only a completed draw is reversed",
                status_now=draw.status,
            )
        assert draw.odds_version is not None  # a completed draw was drawn from a version
        config = await self.catalog.version_config(session, draw.gacha_id, draw.odds_version)
        now = self.ctx.now()
        row = DrawReversal(
            draw_id=draw_id,
            user_id=draw.user_id,
            reason=reason,
            reversed_by=operator_id,
            reversed_at=now,
        )
        repository.add_reversal(session, row)
        await self.ctx.outbox.add(
            session,
            DrawReversed(
                draw_id=draw_id,
                user_id=draw.user_id,
                reason=reason,
                reversed_at=now,
                gacha_id=draw.gacha_id,
                vtuber_id=draw.vtuber_id,
                paid_value_jpy=draw.paid_value_jpy or 0,
                shares=shares_of(config),
            ),
        )
        await session.flush()
        return _read(row)

    async def get(self, session: AsyncSession, draw_id: str) -> ReversalRead | None:
        row = await repository.reversal(session, draw_id)
        return _read(row) if row is not None else None
