"""The draw saga (DESIGN.md "The draw"): reserve medals → draw → post → completed, or release.

Each step starts from the draw row's status and moves it by compare-and-set, and every call to
the payment service is idempotent on the draw's transfer id, so the saga may run twice at once
for one draw (the request that accepted it, a queue worker, the recovery sweeper) and a crashed
run is simply run again: outcomes are a pure function of (seed, client seed, nonce, state), and
the step that records them runs once, under the draw row's lock.

Locks, always in this order: draw row → fan's gacha state → box stock → fan's seed pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.auth import SpendingProfile
from koepon.contracts.gacha import DrawCompleted, DrawnItem
from koepon.contracts.payment import (
    HoldAlreadyPosted,
    HoldAlreadyVoided,
    HoldExpired,
    HoldNotFound,
    MedalHold,
    MedalsRefused,
    PaymentUnavailable,
)
from koepon.gacha.catalog.events import shares_of
from koepon.gacha.catalog.service import Catalog
from koepon.gacha.context import GachaContext
from koepon.gacha.draws import repository
from koepon.gacha.draws.models import Draw
from koepon.gacha.draws.outcomes import draw as draw_outcome
from koepon.gacha.draws.profiles import Profiles
from koepon.gacha.draws.rules import check_account_limits, paid_slots
from koepon.gacha.draws.states import DrawStatus, transfer_id
from koepon.gacha.draws.wallets import GuardedWallets
from koepon.gacha.errors import BoxSoldOut
from koepon.gacha.fairness.service import Seeds
from koepon.gacha.odds.exchange import accrue
from koepon.gacha.odds.limits import check_draw_limits
from koepon.gacha.odds.slots import PityState
from koepon.gacha.transparency.leaf import draw_record
from koepon.gacha.transparency.service import DrawLog
from koepon.kernel.clock import jst_day
from koepon.kernel.errors import DomainError
from koepon.kernel.metrics import count_draw

log = structlog.get_logger(__name__)
S = DrawStatus


class WorkerCrashed(BaseException):
    """Raised at a test-controlled crash point: the saga stops as if its process died there."""


@dataclass
class CrashPoints:
    """Where a test makes the saga stop (``reserved``, ``drawn``, ``posted``, ``voiding``)."""

    armed: set[str] = field(default_factory=set)

    def reach(self, point: str) -> None:
        if point in self.armed:
            raise WorkerCrashed(point)


class DrawSaga:
    def __init__(
        self,
        ctx: GachaContext,
        *,
        catalog: Catalog,
        seeds: Seeds,
        draw_log: DrawLog,
        wallets: GuardedWallets,
        profiles: Profiles,
    ) -> None:
        self.ctx = ctx
        self.catalog = catalog
        self.seeds = seeds
        self.draw_log = draw_log
        self.wallets = wallets
        self.profiles = profiles
        self.crash = CrashPoints()

    async def run(self, draw_id: str, known: Draw | None = None) -> DrawStatus | None:
        """Take one draw as far as it can go now; returns where it stands (None: no such
        draw). Outages leave it where it is, for the recovery sweeper. ``known``: the row as
        the caller just wrote it (spares reading it back; every step re-checks under lock)."""
        draw = known
        if draw is None:
            async with self.ctx.db.transaction(read_only=True) as session:
                draw = await repository.get(session, draw_id)
        if draw is None:
            return None
        status = S(draw.status)
        if status is S.ACCEPTED:
            status = await self._reserve_and_draw(draw)
        if status is S.DRAWN:
            status = await self._post(draw_id)
        if status is S.VOIDING:
            status = await self._void(draw_id)
        return status

    # --- step 1 + 2: hold the medals, then draw under the fan's lock ---

    async def _reserve_and_draw(self, draw: Draw) -> DrawStatus:
        settings = self.ctx.gacha_settings
        try:
            profile = await self.profiles.of(draw.user_id)
            hold = await self.wallets.reserve(
                draw.user_id,
                draw.price_medals,
                transfer_id(draw.id),
                timeout_seconds=settings.draw_hold_seconds,
            )
        except PaymentUnavailable as exc:
            return await self._stalled(draw, repr(exc))
        except MedalsRefused as refusal:
            return await self._end(draw.id, S.ACCEPTED, S.REFUSED, refusal.code, refusal.detail)
        except DomainError as exc:  # the auth service could not be asked
            return await self._stalled(draw, repr(exc))
        except Exception as exc:
            return await self._stalled(draw, repr(exc))
        self.crash.reach("reserved")
        if hold.status == "voided":  # held once, expired and released before we drew
            return await self._end(
                draw.id, S.ACCEPTED, S.VOIDED, "hold_expired", "the medal hold expired"
            )
        async with self.ctx.db.transaction() as session:
            row = await repository.get(session, draw.id, lock=True)
            if row is None or row.status != S.ACCEPTED:
                return S(row.status) if row is not None else S.VOIDED
            try:
                await self._draw(session, row, profile)
            except DomainError as refusal:
                # A rule checked under the lock refused it after the medals were held.
                row.status, row.code, row.detail = S.VOIDING, refusal.code, refusal.detail
                row.updated_at = self.ctx.now()
                status = S.VOIDING
            else:
                status = S.DRAWN
        self.crash.reach("drawn" if status is S.DRAWN else "voiding")
        return status

    async def _draw(
        self, session: AsyncSession, row: Draw, profile: SpendingProfile | None
    ) -> None:
        now = self.ctx.now()
        live = await self.catalog.in_force(session, row.gacha_id)
        config = live.config
        state = await repository.fan_state(session, row.user_id, row.gacha_id, lock=True)
        today = jst_day(now).isoformat()
        drawn_today = state.drawn_on_day if state.day == today else 0
        check_draw_limits(
            config.limits, drawn=state.drawn, drawn_today=drawn_today, count=row.count
        )
        month_medals = await repository.month_medals(session, row.user_id, row.month)
        check_account_limits(profile, now=now, month_medals=month_medals, price=row.price_medals)
        box = None
        if config.kind == "box":
            box = await self.catalog.take_from_box(session, row.gacha_id)
            left = sum(box.values())
            if left < row.count:
                raise BoxSoldOut(
                    f"the box holds {left} items; {row.count} were asked for", remaining=left
                )
        seeds = await self.seeds.allocate(session, row.user_id, row.count)
        outcome = draw_outcome(
            config,
            count=row.count,
            server_seed=seeds.server_seed,
            client_seed=seeds.client_seed,
            first_nonce=seeds.first_nonce,
            pity_state=PityState(state.pity),
            box_remaining=box,
        )
        if outcome.box_remaining is not None:
            await self.catalog.set_box_remaining(session, row.gacha_id, dict(outcome.box_remaining))
        state.drawn += row.count
        state.day, state.drawn_on_day = today, drawn_today + row.count
        state.pity = outcome.pity_state.draws_without_target
        await repository.add_month_medals(session, row.user_id, row.month, row.price_medals)
        row.status = S.DRAWN
        row.odds_version = live.version
        row.seed_pair_id = seeds.pair_id
        row.server_seed_hash = seeds.server_seed_hash
        row.client_seed = seeds.client_seed
        row.first_nonce = seeds.first_nonce
        row.results = [
            {"slot": index, **slot.as_record()} for index, slot in enumerate(outcome.slots)
        ]
        row.updated_at = now

    # --- step 3: spend the held medals, then record the draw as completed ---

    async def _post(self, draw_id: str) -> DrawStatus:
        try:
            hold = await self.wallets.post(transfer_id(draw_id))
        except PaymentUnavailable as exc:
            return await self._touch(draw_id, repr(exc))
        except (HoldExpired, HoldAlreadyVoided, HoldNotFound) as refusal:
            return await self._undo_draw(draw_id, refusal.code, refusal.detail)
        except Exception as exc:
            return await self._touch(draw_id, repr(exc))
        self.crash.reach("posted")
        return await self._complete(draw_id, hold)

    async def _complete(self, draw_id: str, hold: MedalHold) -> DrawStatus:
        async with self.ctx.db.transaction() as session:
            row = await repository.get(session, draw_id, lock=True)
            if row is None or row.status != S.DRAWN:
                return S(row.status) if row is not None else S.VOIDED
            assert row.odds_version is not None and row.results is not None
            config = await self.catalog.version_config(session, row.gacha_id, row.odds_version)
            now = self.ctx.now()
            paid = hold.posted_paid_medals or 0
            free = hold.posted_free_medals or 0
            earned = 0
            if config.exchange is not None:
                state = await repository.fan_state(session, row.user_id, row.gacha_id, lock=True)
                slots = paid_slots(row.count, paid_medals=paid, price_medals=row.price_medals)
                before = state.points
                state.points = accrue(before, paid_draws=slots, rule=config.exchange)
                earned = state.points - before
            row.status = S.COMPLETED
            row.paid_medals, row.free_medals = paid, free
            row.paid_value_jpy = hold.posted_paid_value_jpy or 0
            row.points_earned = earned
            row.completed_at = row.updated_at = now
            await repository.add_slots(
                session,
                [
                    {
                        "draw_id": row.id,
                        "slot": slot["slot"],
                        "gacha_id": row.gacha_id,
                        "odds_version": row.odds_version,
                        "table": slot["table"],
                        "item_id": slot["item_id"],
                        "rarity": slot["rarity"],
                        "nonce": slot["nonce"],
                    }
                    for slot in row.results
                ],
            )
            items = []
            for slot in row.results:
                item = config.item(slot["item_id"])
                assert item is not None
                items.append(
                    DrawnItem(
                        slot=slot["slot"],
                        item_id=item.item_id,
                        content_id=item.content_id,
                        rarity=item.rarity.value,
                        nonce=slot["nonce"],
                        limited=item.stock is not None,
                        copies=item.stock,
                    )
                )
            await self.ctx.outbox.add(
                session,
                DrawCompleted(
                    draw_id=row.id,
                    user_id=row.user_id,
                    gacha_id=row.gacha_id,
                    vtuber_id=row.vtuber_id,
                    odds_version=row.odds_version,
                    count=row.count,
                    price_medals=row.price_medals,
                    paid_medals=paid,
                    free_medals=free,
                    paid_value_jpy=row.paid_value_jpy,
                    items=items,
                    completed_at=now,
                    shares=shares_of(config),
                    transfer_id=transfer_id(row.id),
                    on_stream=bool(row.show_on_stream),
                ),
            )
            await self.draw_log.submit(
                session,
                row.id,
                draw_record(
                    draw_id=row.id,
                    gacha_id=row.gacha_id,
                    odds_version=row.odds_version,
                    server_seed_hash=row.server_seed_hash or "",
                    client_seed=row.client_seed or "",
                    slots=[{k: v for k, v in slot.items() if k != "slot"} for slot in row.results],
                    drawn_at=now,
                ),
            )
        count_draw("completed")
        return S.COMPLETED

    async def _undo_draw(self, draw_id: str, code: str, detail: str) -> DrawStatus:
        """The hold is gone (expired) after the draw was made: give its box items and its
        month's medals back and release; the pity counter keeps what the fan saw drawn."""
        async with self.ctx.db.transaction() as session:
            row = await repository.get(session, draw_id, lock=True)
            if row is None or row.status != S.DRAWN:
                return S(row.status) if row is not None else S.VOIDED
            if row.results and any(slot.get("weights") for slot in row.results):
                await self.catalog.return_to_box(
                    session, row.gacha_id, [slot["item_id"] for slot in row.results]
                )
            await repository.add_month_medals(session, row.user_id, row.month, -row.price_medals)
            row.status, row.code, row.detail = S.VOIDING, code, detail
            row.updated_at = self.ctx.now()
        log.warning("gacha.draw.undone", draw_id=draw_id, code=code)
        return S.VOIDING

    # --- release ---

    async def _void(self, draw_id: str) -> DrawStatus:
        try:
            await self.wallets.void(transfer_id(draw_id))
        except (HoldNotFound, HoldAlreadyVoided, HoldExpired):
            pass  # nothing (any more) held
        except HoldAlreadyPosted:
            # Never expected: a draw is released only before its medals are posted.
            log.error("gacha.draw.void_after_post", draw_id=draw_id)
            return await self._touch(draw_id, "hold already posted")
        except Exception as exc:
            return await self._touch(draw_id, repr(exc))
        async with self.ctx.db.transaction() as session:
            moved = await repository.set_status(
                session,
                draw_id,
                expected=[S.VOIDING],
                status=S.VOIDED,
                updated_at=self.ctx.now(),
            )
        if not moved:
            async with self.ctx.db.transaction(read_only=True) as session:
                row = await repository.get(session, draw_id)
            return S(row.status) if row is not None else S.VOIDED
        count_draw("voided")
        return S.VOIDED

    # --- bookkeeping ---

    async def _end(
        self, draw_id: str, expected: DrawStatus, status: DrawStatus, code: str, detail: str
    ) -> DrawStatus:
        async with self.ctx.db.transaction() as session:
            moved = await repository.set_status(
                session,
                draw_id,
                expected=[expected],
                status=status,
                code=code,
                detail=detail[:500],
                updated_at=self.ctx.now(),
            )
            if moved:
                count_draw(status.value)  # refused or voided; voiding is not an outcome yet
                return status
            row = await repository.get(session, draw_id)
            return S(row.status) if row is not None else status

    async def _stalled(self, draw: Draw, error: str) -> DrawStatus:
        """Reserving failed on an outage: retried later, released after the give-up time."""
        give_up = timedelta(seconds=self.ctx.gacha_settings.draw_give_up_seconds)
        if self.ctx.now() - draw.requested_at >= give_up:
            status = await self._end(
                draw.id,
                S.ACCEPTED,
                S.VOIDING,
                "payment_unavailable",
                "the payment service could not be reached; no medals were taken",
            )
            return status
        return await self._touch(draw.id, error)

    async def _touch(self, draw_id: str, error: str) -> DrawStatus:
        log.warning("gacha.draw.stalled", draw_id=draw_id, error=error[:300])
        async with self.ctx.db.transaction() as session:
            row = await repository.get(session, draw_id, lock=True)
            if row is None:
                return S.VOIDED
            row.attempts += 1
            row.updated_at = self.ctx.now()
            return S(row.status)


def stale_before(now: datetime, seconds: float) -> datetime:
    return now - timedelta(seconds=seconds)
