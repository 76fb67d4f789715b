"""Draw use cases: accept a draw (the fast, durable first step), wait briefly for its result,
and the fan's reads (a draw, history, standing, the log proof).

Accepting writes the draw row and its queue message in one transaction; the row is also the
request's idempotency record (one per fan and ``Idempotency-Key``), so twenty copies of one
request, sent at once, make one draw.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog.service import Catalog, LiveGacha
from koepon.gacha.context import GachaContext
from koepon.gacha.draws import repository
from koepon.gacha.draws.admission import AcceptGate
from koepon.gacha.draws.events import DrawRequested
from koepon.gacha.draws.models import Draw
from koepon.gacha.draws.profiles import Profiles
from koepon.gacha.draws.rules import check_account_limits
from koepon.gacha.draws.schemas import DrawRead, FanStanding, InclusionProofRead, SlotResult
from koepon.gacha.draws.states import DrawStatus
from koepon.gacha.draws.wallets import GuardedWallets
from koepon.gacha.errors import BoxSoldOut, DrawNotFound, InvalidDrawCount, KeyReused, NotYetLogged
from koepon.gacha.odds.limits import check_draw_limits, draws_left
from koepon.gacha.transparency.service import DrawLog
from koepon.kernel.clock import JST, jst_day
from koepon.kernel.errors import DomainError, Unavailable
from koepon.kernel.metrics import count_draw
from koepon.kernel.pagination import decode_keyset, encode_keyset

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Accepted:
    draw: Draw
    created: bool
    # A saga slot of this process was claimed for the new draw: it runs here, not queued.
    inline: bool = False


async def never() -> bool:
    return False


def price_of(live: LiveGacha, count: int) -> int:
    config = live.config
    if count == 1:
        return config.price_medals
    if config.multi is not None and count == config.multi.count:
        return config.multi.price_medals
    raise InvalidDrawCount(
        f"this gacha offers single draws{' and 10連' if config.multi else ''} only",
        field="count",
    )


def read(draw: Draw) -> DrawRead:
    return DrawRead(
        id=draw.id,
        status=draw.status,
        code=draw.code,
        detail=draw.detail,
        gacha_id=draw.gacha_id,
        count=draw.count,
        price_medals=draw.price_medals,
        results=[SlotResult(**slot) for slot in draw.results or []]
        if draw.status == DrawStatus.COMPLETED
        else [],
        odds_version=draw.odds_version,
        server_seed_hash=draw.server_seed_hash,
        client_seed=draw.client_seed,
        paid_medals=draw.paid_medals,
        free_medals=draw.free_medals,
        points_earned=draw.points_earned,
        requested_at=draw.requested_at,
        completed_at=draw.completed_at,
    )


class Draws:
    def __init__(
        self,
        ctx: GachaContext,
        *,
        catalog: Catalog,
        draw_log: DrawLog,
        wallets: GuardedWallets,
        profiles: Profiles,
    ) -> None:
        self.ctx = ctx
        self.catalog = catalog
        self.draw_log = draw_log
        self.wallets = wallets
        self.profiles = profiles
        settings = ctx.gacha_settings
        self.gate = AcceptGate(
            settings.draw_accept_concurrency, wait_seconds=settings.draw_accept_wait_seconds
        )

    async def accept(
        self,
        *,
        user_id: str,
        gacha_id: str,
        count: int,
        key: str,
        fingerprint: str,
        show_on_stream: bool = False,
        claim: Callable[[], Awaitable[bool]] = never,
    ) -> Accepted:
        """Check what can be checked without taking anything, then queue the draw, in one
        transaction (the draw row and its queue message), in this process's turn
        (``AcceptGate``).

        ``claim`` takes a saga slot of this process for the new draw (the request's fast
        path), asked only when no other request waits for its turn: a claimed draw is not
        queued, so no queue worker runs the same saga beside it (the recovery sweeper still
        finishes it if this process dies). The caller starts it, or gives the slot back when
        no draw was created (``Accepted.inline``).

        Checked again under the fan's lock by the saga (limits, caps, stock): these early
        checks only spare a refused draw the round trip."""
        async with self.gate.turn():
            try:
                live = await self.catalog.live(gacha_id)
                price = price_of(live, count)
            except DomainError:
                earlier = await self._by_key(user_id, key)
                if earlier is not None:  # a retry of a draw accepted before the gacha ended
                    return Accepted(self._same_request(earlier, fingerprint), created=False)
                raise
            self.wallets.refuse_if_open()
            now = self.ctx.now()
            month = now.astimezone(JST).strftime("%Y-%m")
            today = jst_day(now).isoformat()
            try:
                profile = await self.profiles.of(user_id)
            except DomainError:
                raise
            except Exception as exc:  # the auth service cannot be asked: A3 cannot be checked
                raise Unavailable(
                    "spending limits cannot be checked right now; nothing was taken"
                ) from exc
            values: dict[str, Any] = {
                "id": str(uuid.uuid4()),
                "user_id": user_id,
                "idempotency_key": key,
                "fingerprint": fingerprint,
                "gacha_id": gacha_id,
                "vtuber_id": live.vtuber_id,
                "count": count,
                "price_medals": price,
                "status": DrawStatus.ACCEPTED.value,
                "month": month,
                "day": today,
                "requested_at": now,
                "updated_at": now,
                "points_earned": 0,
                "attempts": 0,
                "show_on_stream": show_on_stream,
            }
            async with self.ctx.db.transaction() as session:
                state = await repository.peek_fan_state(session, user_id, gacha_id)
                if state is not None:
                    check_draw_limits(
                        live.config.limits,
                        drawn=state.drawn,
                        drawn_today=state.drawn_on_day if state.day == today else 0,
                        count=count,
                    )
                used = await repository.month_medals(session, user_id, month)
                check_account_limits(profile, now=now, month_medals=used, price=price)
                if live.config.kind == "box":
                    left = await self.catalog.box_left(session, gacha_id)
                    if left < count:
                        raise BoxSoldOut(
                            f"the box holds {left} items; {count} were asked for", remaining=left
                        )
                if await repository.insert_draw(session, values):
                    inline = not self.gate.pressed and await claim()
                    if not inline:
                        await self.ctx.outbox.add(session, DrawRequested(draw_id=values["id"]))
                    count_draw("accepted")
                    return Accepted(Draw(**values), created=True, inline=inline)
                earlier = await repository.by_key(session, user_id, key)
            # The same key was used before, or arrived concurrently: that request's draw.
            assert earlier is not None
            return Accepted(self._same_request(earlier, fingerprint), created=False)

    async def _by_key(self, user_id: str, key: str) -> Draw | None:
        async with self.ctx.db.transaction(read_only=True) as session:
            return await repository.by_key(session, user_id, key)

    @staticmethod
    def _same_request(draw: Draw, fingerprint: str) -> Draw:
        if draw.fingerprint != fingerprint:
            raise KeyReused(
                "This Idempotency-Key was already used for a different request; use a new key "
                "for a new request"
            )
        return draw

    async def settle(
        self, draw_id: str, running: asyncio.Task[object] | None, *, wait_seconds: float
    ) -> Draw:
        """The draw once final, or as it stands after ``wait_seconds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        if running is not None and wait_seconds > 0:
            await asyncio.wait({running}, timeout=wait_seconds)
        while True:
            async with self.ctx.db.transaction(read_only=True) as session:
                row = await repository.get(session, draw_id)
            assert row is not None
            if DrawStatus(row.status).final or loop.time() >= deadline:
                return row
            await asyncio.sleep(POLL_SECONDS)

    async def get_own(self, session: AsyncSession, *, user_id: str, draw_id: str) -> Draw:
        draw = await repository.get(session, draw_id)
        if draw is None or draw.user_id != user_id:
            raise DrawNotFound("no such draw", draw_id=draw_id)
        return draw

    async def history(
        self, session: AsyncSession, *, user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[DrawRead], str | None]:
        after = decode_keyset(cursor) if cursor else None
        rows = await repository.user_draws(session, user_id, limit=limit + 1, after=after)
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if more and rows else None
        return [read(r) for r in rows], (
            encode_keyset(last.requested_at, last.id) if last is not None else None
        )

    async def proof(
        self, session: AsyncSession, *, user_id: str, draw_id: str
    ) -> InclusionProofRead:
        draw = await self.get_own(session, user_id=user_id, draw_id=draw_id)
        if draw.status != DrawStatus.COMPLETED:
            raise NotYetLogged("only completed draws are logged", status=draw.status)
        found = await self.draw_log.proof(session, draw_id)
        if found is None:
            raise NotYetLogged(
                "the draw is completed and will be in the public log within seconds",
                headers={"Retry-After": "2"},
            )
        return InclusionProofRead.model_validate(found, from_attributes=True)

    async def standing(self, session: AsyncSession, *, user_id: str, gacha_id: str) -> FanStanding:
        live = await self.catalog.live(gacha_id)
        state = await repository.fan_state(session, user_id, gacha_id)
        today = jst_day(self.ctx.now()).isoformat()
        drawn_today = state.drawn_on_day if state.day == today else 0
        pity = live.config.pity
        return FanStanding(
            gacha_id=gacha_id,
            drawn=state.drawn,
            drawn_today=drawn_today,
            draws_left=draws_left(live.config.limits, drawn=state.drawn, drawn_today=drawn_today),
            pity_progress=state.pity,
            pity_at=pity.draws if pity is not None else None,
            points=state.points,
        )
