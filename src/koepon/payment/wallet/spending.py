"""Spending use cases: reserve, post and void holds (the draw saga), or spend at once.

Each runs under the fan's wallet lock (``WalletService.lock_wallet``) in the caller's
transaction, and is idempotent on the caller's ``transfer_id``: repeating a call returns the
first result, reusing the id for something else is refused.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.payment import (
    HoldAlreadyPosted,
    HoldAlreadyVoided,
    HoldExpired,
    HoldNotFound,
    InsufficientMedals,
    InvalidAmount,
    InvalidTimeout,
    MedalHold,
    TransferIdReused,
    WalletLocked,
)
from koepon.payment.ledger.accounts import system_account
from koepon.payment.wallet import lots as lot_rules
from koepon.payment.wallet import repository as repo
from koepon.payment.wallet import transfers as plan
from koepon.payment.wallet.service import (
    WalletService,
    check_medals,
    check_transfer_id,
    medal_hold,
)
from koepon.payment.wallet.states import KIND_NAMES, MedalKind, SpendStatus

MAX_HOLD_SECONDS = 86_400


class Spending:
    """Spends of fans' medals, on the wallets of ``wallets``."""

    def __init__(self, wallets: WalletService) -> None:
        self.wallets = wallets
        self.ctx = wallets.ctx

    async def reserve(
        self,
        session: AsyncSession,
        *,
        user_id: str,
        medals: int,
        transfer_id: str,
        timeout_seconds: int = 60,
        reason: str | None = None,
    ) -> MedalHold:
        """Hold ``medals`` of the fan's (pending transfers) until posted, voided or timed out."""
        if not 0 < timeout_seconds <= MAX_HOLD_SECONDS:
            raise InvalidTimeout(f"timeout_seconds must be 1–{MAX_HOLD_SECONDS}")
        return await self._spend(
            session,
            user_id=user_id,
            medals=medals,
            transfer_id=transfer_id,
            reason=reason,
            timeout_seconds=timeout_seconds,
        )

    async def spend(
        self,
        session: AsyncSession,
        *,
        user_id: str,
        medals: int,
        transfer_id: str,
        reason: str | None = None,
    ) -> MedalHold:
        """Spend ``medals`` at once (one phase)."""
        return await self._spend(
            session,
            user_id=user_id,
            medals=medals,
            transfer_id=transfer_id,
            reason=reason,
            timeout_seconds=None,
        )

    async def _spend(
        self,
        session: AsyncSession,
        *,
        user_id: str,
        medals: int,
        transfer_id: str,
        reason: str | None,
        timeout_seconds: int | None,
    ) -> MedalHold:
        check_medals(medals)
        check_transfer_id(transfer_id)
        two_phase = timeout_seconds is not None
        now = self.ctx.now()
        ids = plan.spend_ids(transfer_id)
        revenue = {k: system_account("revenue", k, ids[k]) for k in KIND_NAMES}
        balances = await self.wallets.lock_wallet(session, user_id, *revenue.values())
        spend = await repo.spend_by_id(session, transfer_id)
        if spend is not None:
            if (spend.user_id, spend.medals, spend.two_phase) != (user_id, medals, two_phase):
                raise TransferIdReused(f"{transfer_id} was used for another spend")
            return medal_hold(spend)
        if any(self.wallets.owed(balances, user_id, k) for k in KIND_NAMES):
            raise WalletLocked(
                "This wallet owes medals after a chargeback and cannot spend until it is settled"
            )
        rows = await repo.live_lots(session, user_id, now)
        by_id = {row.id: row for row in rows}
        takes = lot_rules.plan_spend(
            [
                lot_rules.LotBalance(r.id, r.kind, r.remaining, r.issued_at, r.expires_at)
                for r in rows
            ],
            medals,
            now=now,
            free_first=self.ctx.payment_settings.spend_free_first,
        )
        if takes is None:
            available = sum(r.remaining for r in rows)
            raise InsufficientMedals(f"This needs {medals} medals; the wallet has {available}")
        split: dict[MedalKind, int] = {
            k: sum(t.medals for t in takes if t.kind == k) for k in KIND_NAMES
        }
        transfers = plan.spend(
            user_id=user_id,
            split=split,
            transfer_id=transfer_id,
            revenue=revenue,
            timeout_seconds=timeout_seconds,
            reason=reason,
        )
        await self.wallets.apply(session, transfers, balances)
        row: dict[str, Any] = dict(
            id=transfer_id,
            user_id=user_id,
            medals=medals,
            free_medals=split["free"],
            paid_medals=split["paid"],
            two_phase=two_phase,
            reason=reason,
            created_at=now,
        )
        if two_phase:
            expires_at = now + timedelta(seconds=timeout_seconds or 0)
            stored = await repo.insert_spend(
                session, **row, status=SpendStatus.PENDING, expires_at=expires_at
            )
            for take in takes:
                await repo.hold_medals(session, take.lot_id, take.medals)
            await repo.insert_holds(session, transfer_id, takes)
        else:
            paid_value = 0
            for k in KIND_NAMES:
                if not split[k]:
                    continue
                value = await repo.consume(
                    session,
                    [(by_id[t.lot_id], t.medals) for t in takes if t.kind == k],
                    "use",
                    ids[k],
                    now,
                )
                if k == "paid":
                    paid_value = value
            stored = await repo.insert_spend(
                session,
                **row,
                status=SpendStatus.POSTED,
                posted_medals=medals,
                posted_free_medals=split["free"],
                posted_paid_medals=split["paid"],
                posted_paid_value_jpy=paid_value,
                resolved_at=now,
            )
        return medal_hold(stored)

    async def post(
        self, session: AsyncSession, *, transfer_id: str, medals: int | None = None
    ) -> MedalHold:
        """Spend (all or the first ``medals`` of) a hold; the rest goes back to its lots."""
        return await self._resolve(session, transfer_id, post=True, medals=medals)

    async def void(self, session: AsyncSession, *, transfer_id: str) -> MedalHold:
        """Release a hold: every held medal goes back to the lot it came from."""
        return await self._resolve(session, transfer_id, post=False, medals=None)

    async def _resolve(
        self, session: AsyncSession, transfer_id: str, *, post: bool, medals: int | None
    ) -> MedalHold:
        first = await repo.spend_by_id(session, transfer_id)
        if first is None or not first.two_phase:
            raise HoldNotFound(f"No medal hold {transfer_id!r}")
        user_id = first.user_id
        ids = plan.spend_ids(transfer_id)
        revenue = {k: system_account("revenue", k, ids[k]) for k in KIND_NAMES}
        balances = await self.wallets.lock_wallet(session, user_id, *revenue.values())
        # Read again under the lock: a racing post/void (or the sweeper) may have resolved it.
        spend = await repo.spend_by_id(session, transfer_id)
        assert spend is not None  # spends are never deleted
        now = self.ctx.now()
        if medals is not None and not (isinstance(medals, int) and 0 <= medals <= spend.medals):
            raise InvalidAmount(f"medals must be 0–{spend.medals}")
        if spend.status == SpendStatus.POSTED:
            if post and medals in (None, spend.posted_medals):
                return medal_hold(spend)
            raise HoldAlreadyPosted(f"Medal hold {transfer_id!r} was already spent")
        if spend.status == SpendStatus.VOIDED:
            if not post:
                return medal_hold(spend)
            raise HoldAlreadyVoided(f"Medal hold {transfer_id!r} was released")
        if post and spend.expires_at is not None and spend.expires_at <= now:
            raise HoldExpired(f"Medal hold {transfer_id!r} timed out")
        hold_rows = await repo.held_lots(session, transfer_id)
        lots_by_id = {r.id: r for r in hold_rows}
        kept, released = lot_rules.split_post(
            [lot_rules.Take(r.id, r.kind, r.hold_medals) for r in hold_rows],
            (medals if medals is not None else spend.medals) if post else 0,
        )
        posted: dict[MedalKind, int] = {
            k: sum(t.medals for t in kept if t.kind == k) for k in KIND_NAMES
        }
        held: dict[MedalKind, int] = {"free": spend.free_medals, "paid": spend.paid_medals}
        transfers = plan.resolve(transfer_id=transfer_id, held=held, posted=posted, post=post)
        await self.wallets.apply(session, transfers, balances)
        paid_value = 0
        suffix = "post" if post else "void"
        for k in KIND_NAMES:
            if not held[k]:
                continue
            value = await repo.consume(
                session,
                [(lots_by_id[t.lot_id], t.medals) for t in kept if t.kind == k],
                "use",
                f"{ids[k]}/{suffix}",
                now,
                from_held=True,
            )
            if k == "paid":
                paid_value = value
        for t in released:
            await repo.release_medals(session, t.lot_id, t.medals)
        await repo.resolve_holds(session, transfer_id, now)
        values: dict[str, Any] = {
            "status": SpendStatus.POSTED if post else SpendStatus.VOIDED,
            "resolved_at": now,
        }
        if post:
            values.update(
                posted_medals=posted["free"] + posted["paid"],
                posted_free_medals=posted["free"],
                posted_paid_medals=posted["paid"],
                posted_paid_value_jpy=paid_value,
            )
        return medal_hold(await repo.update_spend(session, transfer_id, **values))
