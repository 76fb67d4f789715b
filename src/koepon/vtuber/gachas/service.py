"""The VTuber service's copy of the gachas it earns from (from ``gacha.catalog.changed.v1``).

Each message is handled in one transaction with its inbox claim, so a redelivery changes
nothing; the copy keeps the highest ``revision`` it saw, so an event that arrives late (or
twice under another message id) changes nothing either. A payload that breaks the contract
(shares not summing to 10,000, ids too long…) can never succeed: it is logged
(``vtuber.event_rejected``, where and what, never the values) and skipped — the VTuber service
has no table for rejected events, and its inbox claim keeps it from being tried again.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.bus import Message
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.gachas import repository
from koepon.vtuber.gachas.events import Malformed, catalog_copy, describe
from koepon.vtuber.gachas.models import GachaCopy
from koepon.vtuber.gachas.schemas import GachaSummary
from koepon.vtuber.gachas.shares import by_share

log = structlog.get_logger(__name__)

CONSUMER = "vtuber.gachas"
TOPICS = ("gacha.catalog.changed.v1",)


class GachaCopies:
    def __init__(self, ctx: VtuberContext) -> None:
        self.ctx = ctx

    # --- the consumer ----------------------------------------------------------------------

    async def handle(self, message: Message) -> None:
        await self.apply(message)

    async def apply(self, message: Message) -> bool:
        """``handle``, telling whether the copy changed."""
        async with self.ctx.db.transaction() as session:
            claimed = await self.ctx.inbox.claim(
                session, consumer=CONSUMER, message_id=message.id, topic=message.topic
            )
            if not claimed:
                return False
            try:
                copy = catalog_copy(message)
            except (ValidationError, Malformed) as exc:
                log.error(
                    "vtuber.event_rejected",
                    consumer=CONSUMER,
                    message_id=message.id,
                    topic=message.topic,
                    error=describe(exc),
                )
                return False
            values = {k: v for k, v in asdict(copy).items() if k != "parties"}
            if not await repository.keep_if_newer(session, values):
                log.info("vtuber.gacha_copy_stale", gacha_id=copy.gacha_id, revision=copy.revision)
                return False
            await repository.replace_parties(session, copy.gacha_id, copy.parties)
            log.info(
                "vtuber.gacha_copy_kept",
                gacha_id=copy.gacha_id,
                revision=copy.revision,
                parties=len(copy.parties),
            )
            return True

    # --- reading ---------------------------------------------------------------------------

    async def live_for(
        self, session: AsyncSession, vtuber_id: str, now: datetime
    ) -> list[GachaSummary]:
        """Approved gachas ``vtuber_id`` earns from (collabs included) that are running at
        ``now``: started (or without a start) and not ended (or without an end)."""
        return await self._summaries(session, await repository.live_for(session, vtuber_id, now))

    async def live_counts(
        self, session: AsyncSession, vtuber_ids: Collection[str], now: datetime
    ) -> dict[str, int]:
        """The number of live gachas (as ``live_for`` counts them) of each VTuber; 0 if none."""
        found = await repository.live_counts(session, vtuber_ids, now)
        return {vtuber_id: found.get(vtuber_id, 0) for vtuber_id in vtuber_ids}

    async def of_vtuber(self, session: AsyncSession, vtuber_id: str) -> list[GachaSummary]:
        """Every gacha ``vtuber_id`` leads or earns from, in any status (newest change first)."""
        return await self._summaries(session, await repository.of_vtuber(session, vtuber_id))

    async def get(self, session: AsyncSession, gacha_id: str) -> GachaSummary | None:
        row = await repository.get(session, gacha_id)
        if row is None:
            return None
        [summary] = await self._summaries(session, [row])
        return summary

    async def get_many(
        self, session: AsyncSession, gacha_ids: Collection[str]
    ) -> dict[str, GachaSummary]:
        rows = await repository.get_many(session, gacha_ids)
        return {s.gacha_id: s for s in await self._summaries(session, rows)}

    async def _summaries(self, session: AsyncSession, rows: list[GachaCopy]) -> list[GachaSummary]:
        shares = await repository.parties_of(session, [row.gacha_id for row in rows])
        return [
            GachaSummary(
                gacha_id=row.gacha_id,
                vtuber_id=row.vtuber_id,
                title=row.title,
                kind=row.kind,
                status=row.status,
                price_medals=row.price_medals,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                box_stock=row.box_stock,
                revision=row.revision,
                shares=tuple(sorted(shares[row.gacha_id], key=by_share)),
            )
            for row in rows
        ]
