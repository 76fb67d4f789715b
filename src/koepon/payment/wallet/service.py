"""Wallet use cases: issue lots, spend (one or two phases), claw back, expire, notify.

Every operation on a fan's wallet first locks that fan's ledger accounts (wallet and debt
accounts of both kinds, plus the platform shards it will use) in one sorted statement; all
changes to the fan's lots happen under that lock, so the lots need no lock of their own and a
fan's operations are serialised while different fans' run in parallel. The lots and the ledger
change in the same transaction, so a wallet balance is always the sum of its lots.

Refusals are ``MedalsRefused`` with a stable code (``insufficient_medals``, ``wallet_locked``,
``transfer_id_reused``…); the API turns them into problems.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Table, and_, event, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.payment import (
    MedalHold,
    MedalLotExpired,
    MedalLotExpiringSoon,
    MedalLotIssued,
    MedalsClawedBack,
    MedalsRefused,
    WalletBalance,
)
from koepon.payment.context import PaymentContext
from koepon.payment.ledger.accounts import (
    KINDS,
    LEDGERS,
    AccountCode,
    TransferCode,
    debt_account,
    system_account,
    wallet_account,
)
from koepon.payment.ledger.models import LedgerTransfer
from koepon.payment.ledger.rules import Balance, LedgerError, Transfer, TransferFlags
from koepon.payment.ledger.service import Ledger
from koepon.payment.wallet import lots as lot_rules
from koepon.payment.wallet.models import (
    MedalLot,
    MedalLotHold,
    MedalLotMovement,
    MedalSpend,
    OperatorAction,
)

log = structlog.get_logger(__name__)
JST = ZoneInfo("Asia/Tokyo")
MedalKind = Literal["paid", "free"]
KIND_NAMES: tuple[MedalKind, MedalKind] = ("paid", "free")
MAX_TRANSFER_ID = 150
MAX_MEDALS = 10**12
CACHE_TTL_SECONDS = 30

lots_t = cast(Table, MedalLot.__table__)
moves_t = cast(Table, MedalLotMovement.__table__)
holds_t = cast(Table, MedalLotHold.__table__)
spends_t = cast(Table, MedalSpend.__table__)
actions_t = cast(Table, OperatorAction.__table__)
transfers_t = cast(Table, LedgerTransfer.__table__)


@dataclass(frozen=True)
class IssuedLot:
    id: str
    user_id: str
    kind: str
    medals: int
    price_jpy: int
    source: str
    issued_at: datetime
    expires_at: datetime
    transfer_id: str
    settled_medals: int = 0  # taken at once to pay off what the fan owed


@dataclass(frozen=True)
class ClawBack:
    transfer_id: str
    user_id: str
    kind: str
    medals: int
    taken_medals: int
    owed_medals: int  # total now owed by the wallet in this kind
    taken_value_jpy: int


def _refuse(code: str, detail: str, status: int = 409) -> MedalsRefused:
    return MedalsRefused(code, detail, status)


def _hold(spend: Any) -> MedalHold:
    return MedalHold(
        transfer_id=spend.id,
        user_id=spend.user_id,
        medals=spend.medals,
        free_medals=spend.free_medals,
        paid_medals=spend.paid_medals,
        status=spend.status,
        expires_at=spend.expires_at,
        posted_medals=spend.posted_medals,
        posted_free_medals=spend.posted_free_medals,
        posted_paid_medals=spend.posted_paid_medals,
        posted_paid_value_jpy=spend.posted_paid_value_jpy,
    )


class WalletService:
    """Fans' wallets in the payment database of ``ctx``."""

    def __init__(self, ctx: PaymentContext) -> None:
        self.ctx = ctx

    @property
    def ledger(self) -> Ledger:
        return self.ctx.ledger

    # -- locking and cache ---------------------------------------------------------------

    async def _lock_wallet(
        self, session: AsyncSession, user_id: str, *extra: str
    ) -> dict[str, Balance]:
        ids = [wallet_account(user_id, k) for k in KIND_NAMES]
        ids += [debt_account(user_id, k) for k in KIND_NAMES]
        return await self.ledger.lock(session, [*ids, *extra])

    @staticmethod
    def _owed(balances: dict[str, Balance], user_id: str, kind: MedalKind) -> int:
        debt = balances[debt_account(user_id, kind)]
        return debt.debits_posted - debt.credits_posted

    def _changed(self, session: AsyncSession, user_id: str) -> None:
        """Drop the fan's cached wallet now and again once the transaction commits."""
        key = self.cache_key(user_id)
        cache = self.ctx.cache
        touched: set[str] = session.info.setdefault("payment_wallets_changed", set())
        if not touched:

            def after_commit(_session: Any) -> None:
                keys = [self.cache_key(u) for u in session.info.pop("payment_wallets_changed", ())]
                if keys:
                    with contextlib.suppress(RuntimeError):
                        asyncio.get_running_loop().create_task(cache.delete(*keys))

            def after_rollback(_session: Any) -> None:
                session.info.pop("payment_wallets_changed", None)

            event.listen(session.sync_session, "after_commit", after_commit, once=True)
            event.listen(session.sync_session, "after_soft_rollback", after_rollback, once=True)
        touched.add(user_id)
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(cache.delete(key))

    @staticmethod
    def cache_key(user_id: str) -> str:
        return f"payment:wallet:{user_id}"

    # -- issuing -------------------------------------------------------------------------

    async def issue_lot(
        self,
        session: AsyncSession,
        *,
        user_id: str,
        kind: MedalKind,
        medals: int,
        transfer_id: str,
        source: str,
        price_jpy: int = 0,
        reason: str | None = None,
        expires_at: datetime | None = None,
    ) -> IssuedLot:
        """Credit a lot to a fan (idempotent on ``transfer_id``).

        ``price_jpy`` is what the fan paid for these medals in total (tax included; 0 for
        free medals). If the fan owes medals of this kind, the new lot pays that off first.
        """
        if kind not in LEDGERS:
            raise _refuse("invalid_kind", f"Unknown medal kind {kind!r}", 422)
        if not 0 < medals <= MAX_MEDALS:
            raise _refuse("invalid_amount", "medals must be a positive integer", 422)
        if price_jpy < 0 or (kind == "free" and price_jpy):
            raise _refuse("invalid_price", "price_jpy must be ≥ 0, and 0 for free medals", 422)
        self._check_id(transfer_id)
        now = self.ctx.now()
        issue_id = f"{transfer_id}/issue"
        settle_id = f"{transfer_id}/settle"
        issuance = system_account("issuance", kind, issue_id)
        balances = await self._lock_wallet(session, user_id, issuance)
        existing = (
            await session.execute(select(lots_t).where(lots_t.c.transfer_id == transfer_id))
        ).first()
        if existing is not None:
            same = (existing.user_id, existing.kind, existing.medals, existing.price_jpy) == (
                user_id,
                kind,
                medals,
                price_jpy,
            ) and existing.source == source
            if not same:
                raise _refuse("transfer_id_reused", f"{transfer_id} was used for another lot")
            settled = await session.scalar(
                select(func.coalesce(func.sum(moves_t.c.medals), 0)).where(
                    moves_t.c.transfer_id == settle_id
                )
            )
            return self._issued(existing, int(settled or 0))
        if expires_at is None:
            days = (
                self.ctx.settings.paid_medal_validity_days
                if kind == "paid"
                else self.ctx.settings.free_medal_validity_days
            )
            expires_at = lot_rules.expiry_for(now, days)
        if expires_at <= now:
            raise _refuse("invalid_expiry", "expires_at must be in the future", 422)
        code = TransferCode.PURCHASE if source == "purchase" else TransferCode.GRANT
        transfers = [
            Transfer(
                id=issue_id,
                debit_account_id=issuance,
                credit_account_id=wallet_account(user_id, kind),
                amount=medals,
                ledger=LEDGERS[kind],
                code=code,
                user_data=source[:200],
            )
        ]
        owed = self._owed(balances, user_id, kind)
        settle = min(owed, medals)
        if settle:
            transfers[0] = replace(transfers[0], flags=TransferFlags.LINKED)
            transfers.append(
                Transfer(
                    id=settle_id,
                    debit_account_id=wallet_account(user_id, kind),
                    credit_account_id=debt_account(user_id, kind),
                    amount=settle,
                    ledger=LEDGERS[kind],
                    code=TransferCode.SETTLE,
                    user_data="settle",
                )
            )
        await self._ledger(session, transfers, balances)
        lot_id = str(uuid.uuid4())
        await session.execute(
            insert(lots_t).values(
                id=lot_id,
                user_id=user_id,
                kind=kind,
                medals=medals,
                consumed=settle,
                held=0,
                remaining=medals - settle,
                price_jpy=price_jpy,
                source=source,
                reason=reason,
                transfer_id=transfer_id,
                issued_at=now,
                expires_at=expires_at,
            )
        )
        movements = [
            dict(
                lot_id=lot_id,
                user_id=user_id,
                kind=kind,
                entry="issue",
                medals=medals,
                value_jpy=price_jpy,
                transfer_id=issue_id,
                occurred_at=now,
            )
        ]
        if settle:
            movements.append(
                dict(
                    lot_id=lot_id,
                    user_id=user_id,
                    kind=kind,
                    entry="settle",
                    medals=settle,
                    value_jpy=lot_rules.consumption_value_jpy(price_jpy, medals, 0, settle),
                    transfer_id=settle_id,
                    occurred_at=now,
                )
            )
        await session.execute(insert(moves_t), movements)
        await self.ctx.outbox.add(
            session,
            MedalLotIssued(
                user_id=user_id,
                lot_id=lot_id,
                kind=kind,
                medals=medals,
                price_jpy=price_jpy,
                source=source,
                expires_at=expires_at,
            ),
        )
        self._changed(session, user_id)
        return IssuedLot(
            lot_id, user_id, kind, medals, price_jpy, source, now, expires_at, transfer_id, settle
        )

    @staticmethod
    def _issued(row: Any, settled: int) -> IssuedLot:
        return IssuedLot(
            row.id,
            row.user_id,
            row.kind,
            row.medals,
            row.price_jpy,
            row.source,
            row.issued_at,
            row.expires_at,
            row.transfer_id,
            settled,
        )

    async def grant(
        self,
        session: AsyncSession,
        *,
        user_id: str,
        medals: int,
        reason: str,
        actor: str,
        transfer_id: str,
        source: str = "grant",
        expires_at: datetime | None = None,
    ) -> IssuedLot:
        """An operator gives free medals (campaign, compensation), recorded with who and why."""
        if not reason.strip():
            raise _refuse("reason_required", "A grant needs a reason", 422)
        lot = await self.issue_lot(
            session,
            user_id=user_id,
            kind="free",
            medals=medals,
            transfer_id=transfer_id,
            source=source,
            reason=reason,
            expires_at=expires_at,
        )
        await self._record_action(
            session, actor, "grant", user_id, "free", medals, reason, transfer_id
        )
        return lot

    async def _record_action(
        self,
        session: AsyncSession,
        actor: str,
        action: str,
        user_id: str,
        kind: str,
        medals: int,
        reason: str,
        reference: str,
    ) -> None:
        exists = await session.scalar(
            select(actions_t.c.seq).where(
                actions_t.c.reference == reference, actions_t.c.action == action
            )
        )
        if exists is None:
            await session.execute(
                insert(actions_t).values(
                    actor_user_id=actor,
                    action=action,
                    target_user_id=user_id,
                    kind=kind,
                    medals=medals,
                    reason=reason[:500],
                    reference=reference,
                    created_at=self.ctx.now(),
                )
            )

    # -- claw-back -----------------------------------------------------------------------

    async def claw_back(
        self,
        session: AsyncSession,
        *,
        user_id: str,
        medals: int,
        transfer_id: str,
        reason: str,
        actor: str,
        kind: MedalKind = "paid",
        lot_transfer_id: str | None = None,
    ) -> ClawBack:
        """Take medals back (a chargeback); what the wallet cannot cover is owed, and the wallet
        refuses every spend (``wallet_locked``) until new medals pay it off.

        ``lot_transfer_id`` names the lot bought by the charged-back payment: it is taken first,
        then other lots earliest expiry first. Idempotent on ``transfer_id``.
        """
        if kind not in LEDGERS:
            raise _refuse("invalid_kind", f"Unknown medal kind {kind!r}", 422)
        if not 0 < medals <= MAX_MEDALS:
            raise _refuse("invalid_amount", "medals must be a positive integer", 422)
        if not reason.strip():
            raise _refuse("reason_required", "A claw-back needs a reason", 422)
        self._check_id(transfer_id)
        now = self.ctx.now()
        take_id, owe_id = f"{transfer_id}/claw_back", f"{transfer_id}/debt"
        shard = system_account("claw_back", kind, take_id)
        balances = await self._lock_wallet(session, user_id, shard)
        done = await self.ledger.lookup(session, [take_id, owe_id])
        if done:
            total = sum(t.amount or 0 for t in done.values())
            accounts = {wallet_account(user_id, kind), debt_account(user_id, kind)}
            if total != medals or not all(t.debit_account_id in accounts for t in done.values()):
                raise _refuse("transfer_id_reused", f"{transfer_id} was used for another claw-back")
            taken = done[take_id].amount if take_id in done else 0
            value = await session.scalar(
                select(func.coalesce(func.sum(moves_t.c.value_jpy), 0)).where(
                    moves_t.c.transfer_id == take_id
                )
            )
            return ClawBack(
                transfer_id,
                user_id,
                kind,
                medals,
                taken or 0,
                self._owed(balances, user_id, kind),
                int(value or 0),
            )
        rows = (
            await session.execute(
                select(lots_t).where(
                    lots_t.c.user_id == user_id,
                    lots_t.c.kind == kind,
                    lots_t.c.remaining > 0,
                    lots_t.c.expires_at > now,
                )
            )
        ).all()
        ordered = sorted(
            rows,
            key=lambda r: (r.transfer_id != lot_transfer_id, r.expires_at, r.issued_at, r.id),
        )
        takes: list[tuple[Any, int]] = []
        left = medals
        for row in ordered:
            if not left:
                break
            take = min(left, row.remaining)
            takes.append((row, take))
            left -= take
        taken = medals - left
        transfers: list[Transfer] = []
        if taken:
            transfers.append(
                Transfer(
                    id=take_id,
                    debit_account_id=wallet_account(user_id, kind),
                    credit_account_id=shard,
                    amount=taken,
                    ledger=LEDGERS[kind],
                    code=TransferCode.CLAW_BACK,
                    flags=TransferFlags.LINKED if left else 0,
                    user_data=reason[:200],
                )
            )
        if left:
            transfers.append(
                Transfer(
                    id=owe_id,
                    debit_account_id=debt_account(user_id, kind),
                    credit_account_id=shard,
                    amount=left,
                    ledger=LEDGERS[kind],
                    code=TransferCode.DEBT,
                    user_data=reason[:200],
                )
            )
        await self._ledger(session, transfers, balances)
        value = await self._consume(session, takes, "claw_back", take_id, now)
        await self._record_action(
            session, actor, "claw_back", user_id, kind, medals, reason, transfer_id
        )
        owed = self._owed(balances, user_id, kind)
        await self.ctx.outbox.add(
            session,
            MedalsClawedBack(
                user_id=user_id, kind=kind, medals=medals, owed_medals=owed, reason=reason[:200]
            ),
        )
        self._changed(session, user_id)
        return ClawBack(transfer_id, user_id, kind, medals, taken, owed, value)

    async def _consume(
        self,
        session: AsyncSession,
        takes: Iterable[tuple[Any, int]],
        entry: str,
        transfer_id: str,
        now: datetime,
        *,
        from_held: bool = False,
    ) -> int:
        """Consume medals of lots for good (with their yen value in the book); returns the yen."""
        total = 0
        movements = []
        for row, take in takes:
            if not take:
                continue
            value = lot_rules.consumption_value_jpy(row.price_jpy, row.medals, row.consumed, take)
            total += value
            values: dict[str, Any] = {"consumed": lots_t.c.consumed + take}
            if from_held:
                values["held"] = lots_t.c.held - take
            else:
                values["remaining"] = lots_t.c.remaining - take
            await session.execute(update(lots_t).where(lots_t.c.id == row.id).values(**values))
            movements.append(
                dict(
                    lot_id=row.id,
                    user_id=row.user_id,
                    kind=row.kind,
                    entry=entry,
                    medals=take,
                    value_jpy=value,
                    transfer_id=transfer_id,
                    occurred_at=now,
                )
            )
        if movements:
            await session.execute(insert(moves_t), movements)
        return total

    # -- spending ------------------------------------------------------------------------

    def _check_id(self, transfer_id: str) -> None:
        if not transfer_id or len(transfer_id) > MAX_TRANSFER_ID or "/" in transfer_id:
            raise _refuse(
                "invalid_transfer_id",
                f"transfer_id must be 1–{MAX_TRANSFER_ID} characters without '/'",
                422,
            )

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
        if not 0 < timeout_seconds <= 86_400:
            raise _refuse("invalid_timeout", "timeout_seconds must be 1–86400", 422)
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
        if not isinstance(medals, int) or not 0 < medals <= MAX_MEDALS:
            raise _refuse("invalid_amount", "medals must be a positive integer", 422)
        self._check_id(transfer_id)
        two_phase = timeout_seconds is not None
        now = self.ctx.now()
        ids = {k: f"{transfer_id}/{k}" for k in KIND_NAMES}
        revenue = {k: system_account("revenue", k, ids[k]) for k in KIND_NAMES}
        balances = await self._lock_wallet(session, user_id, *revenue.values())
        spend = (
            await session.execute(select(spends_t).where(spends_t.c.id == transfer_id))
        ).first()
        if spend is not None:
            if (spend.user_id, spend.medals, spend.two_phase) != (user_id, medals, two_phase):
                raise _refuse("transfer_id_reused", f"{transfer_id} was used for another spend")
            return _hold(spend)
        if any(self._owed(balances, user_id, k) for k in KIND_NAMES):
            raise _refuse(
                "wallet_locked",
                "This wallet owes medals after a chargeback and cannot spend until it is settled",
                423,
            )
        rows = (
            await session.execute(
                select(lots_t).where(
                    lots_t.c.user_id == user_id,
                    lots_t.c.remaining > 0,
                    lots_t.c.expires_at > now,
                )
            )
        ).all()
        by_id = {row.id: row for row in rows}
        plan = lot_rules.plan_spend(
            [
                lot_rules.LotBalance(r.id, r.kind, r.remaining, r.issued_at, r.expires_at)
                for r in rows
            ],
            medals,
            now=now,
            free_first=self.ctx.settings.spend_free_first,
        )
        if plan is None:
            available = sum(r.remaining for r in rows)
            raise _refuse(
                "insufficient_medals",
                f"This needs {medals} medals; the wallet has {available}",
                402,
            )
        split = {k: sum(t.medals for t in plan if t.kind == k) for k in KIND_NAMES}
        kinds = [k for k in KIND_NAMES if split[k]]
        flags = TransferFlags.PENDING if two_phase else TransferFlags.NONE
        transfers = [
            Transfer(
                id=ids[k],
                debit_account_id=wallet_account(user_id, k),
                credit_account_id=revenue[k],
                amount=split[k],
                ledger=LEDGERS[k],
                code=TransferCode.SPEND,
                flags=flags | (TransferFlags.LINKED if i < len(kinds) - 1 else 0),
                timeout_seconds=timeout_seconds or 0,
                user_data=(reason or "spend")[:200],
            )
            for i, k in enumerate(kinds)
        ]
        await self._ledger(session, transfers, balances)
        expires_at = now + timedelta(seconds=timeout_seconds or 0) if two_phase else None
        paid_value = 0
        if two_phase:
            await session.execute(
                insert(spends_t).values(
                    id=transfer_id,
                    user_id=user_id,
                    medals=medals,
                    free_medals=split["free"],
                    paid_medals=split["paid"],
                    status="pending",
                    two_phase=True,
                    reason=reason,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            for take in plan:
                await session.execute(
                    update(lots_t)
                    .where(lots_t.c.id == take.lot_id)
                    .values(
                        held=lots_t.c.held + take.medals, remaining=lots_t.c.remaining - take.medals
                    )
                )
            await session.execute(
                insert(holds_t),
                [
                    dict(spend_id=transfer_id, lot_id=t.lot_id, position=i, medals=t.medals)
                    for i, t in enumerate(plan)
                ],
            )
        else:
            for k in kinds:
                value = await self._consume(
                    session,
                    [(by_id[t.lot_id], t.medals) for t in plan if t.kind == k],
                    "use",
                    ids[k],
                    now,
                )
                if k == "paid":
                    paid_value = value
            await session.execute(
                insert(spends_t).values(
                    id=transfer_id,
                    user_id=user_id,
                    medals=medals,
                    free_medals=split["free"],
                    paid_medals=split["paid"],
                    status="posted",
                    two_phase=False,
                    posted_medals=medals,
                    posted_free_medals=split["free"],
                    posted_paid_medals=split["paid"],
                    posted_paid_value_jpy=paid_value,
                    reason=reason,
                    created_at=now,
                    resolved_at=now,
                )
            )
        self._changed(session, user_id)
        spend = (await session.execute(select(spends_t).where(spends_t.c.id == transfer_id))).one()
        return _hold(spend)

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
        first = (
            await session.execute(select(spends_t).where(spends_t.c.id == transfer_id))
        ).first()
        if first is None or not first.two_phase:
            raise _refuse("hold_not_found", f"No medal hold {transfer_id!r}", 404)
        user_id = first.user_id
        ids = {k: f"{transfer_id}/{k}" for k in KIND_NAMES}
        revenue = {k: system_account("revenue", k, ids[k]) for k in KIND_NAMES}
        balances = await self._lock_wallet(session, user_id, *revenue.values())
        # Read again under the lock: a racing post/void (or the sweeper) may have resolved it.
        spend = (await session.execute(select(spends_t).where(spends_t.c.id == transfer_id))).one()
        now = self.ctx.now()
        if medals is not None and not (isinstance(medals, int) and 0 <= medals <= spend.medals):
            raise _refuse("invalid_amount", f"medals must be 0–{spend.medals}", 422)
        if spend.status == "posted":
            if post and medals in (None, spend.posted_medals):
                return _hold(spend)
            raise _refuse("hold_already_posted", f"Medal hold {transfer_id!r} was already spent")
        if spend.status == "voided":
            if not post:
                return _hold(spend)
            raise _refuse("hold_already_voided", f"Medal hold {transfer_id!r} was released")
        if post and spend.expires_at is not None and spend.expires_at <= now:
            raise _refuse("hold_expired", f"Medal hold {transfer_id!r} timed out")
        hold_rows = (
            await session.execute(
                select(lots_t, holds_t.c.medals.label("hold_medals"))
                .join(lots_t, lots_t.c.id == holds_t.c.lot_id)
                .where(holds_t.c.spend_id == transfer_id)
                .order_by(holds_t.c.position)
            )
        ).all()
        takes = [lot_rules.Take(r.id, r.kind, r.hold_medals) for r in hold_rows]
        lots_by_id = {r.id: r for r in hold_rows}
        kept, released = lot_rules.split_post(
            takes, (medals if medals is not None else spend.medals) if post else 0
        )
        posted = {k: sum(t.medals for t in kept if t.kind == k) for k in KIND_NAMES}
        held = {"free": spend.free_medals, "paid": spend.paid_medals}
        kinds = [k for k in KIND_NAMES if held[k]]
        suffix = "post" if post else "void"
        transfers = [
            Transfer(
                id=f"{ids[k]}/{suffix}",
                pending_id=ids[k],
                amount=posted[k] if post else None,
                flags=(TransferFlags.POST_PENDING if post else TransferFlags.VOID_PENDING)
                | (TransferFlags.LINKED if i < len(kinds) - 1 else 0),
            )
            for i, k in enumerate(kinds)
        ]
        await self._ledger(session, transfers, balances)
        paid_value = 0
        for k in kinds:
            value = await self._consume(
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
            await session.execute(
                update(lots_t)
                .where(lots_t.c.id == t.lot_id)
                .values(held=lots_t.c.held - t.medals, remaining=lots_t.c.remaining + t.medals)
            )
        await session.execute(
            update(holds_t).where(holds_t.c.spend_id == transfer_id).values(resolved_at=now)
        )
        values: dict[str, Any] = {"status": "posted" if post else "voided", "resolved_at": now}
        if post:
            values.update(
                posted_medals=posted["free"] + posted["paid"],
                posted_free_medals=posted["free"],
                posted_paid_medals=posted["paid"],
                posted_paid_value_jpy=paid_value,
            )
        await session.execute(update(spends_t).where(spends_t.c.id == transfer_id).values(**values))
        self._changed(session, user_id)
        spend = (await session.execute(select(spends_t).where(spends_t.c.id == transfer_id))).one()
        return _hold(spend)

    async def find_hold(self, session: AsyncSession, transfer_id: str) -> MedalHold | None:
        spend = (
            await session.execute(select(spends_t).where(spends_t.c.id == transfer_id))
        ).first()
        return _hold(spend) if spend is not None else None

    async def _ledger(
        self, session: AsyncSession, transfers: list[Transfer], balances: dict[str, Balance]
    ) -> None:
        if not transfers:
            return
        try:
            await self.ledger.transfer(session, transfers, locked=balances)
        except LedgerError as exc:
            if exc.code == "transfer_id_reused":
                raise _refuse(
                    "transfer_id_reused", f"Transfer id reused: {exc.transfer_id}"
                ) from exc
            if exc.code == "exceeds_credits":
                raise _refuse("insufficient_medals", "Not enough medals", 402) from exc
            raise

    # -- reads ---------------------------------------------------------------------------

    async def balance(self, session: AsyncSession, user_id: str) -> WalletBalance:
        """Spendable medals now, from the database (the one source for spending decisions)."""
        now = self.ctx.now()
        rows = (
            await session.execute(
                select(lots_t.c.kind, func.coalesce(func.sum(lots_t.c.remaining), 0))
                .where(
                    lots_t.c.user_id == user_id, lots_t.c.remaining > 0, lots_t.c.expires_at > now
                )
                .group_by(lots_t.c.kind)
            )
        ).all()
        spendable = {kind: int(total) for kind, total in rows}
        debts = await self.ledger.balances(session, [debt_account(user_id, k) for k in KIND_NAMES])
        owed = sum(b.debits_posted - b.credits_posted for b in debts.values())
        return WalletBalance(
            user_id=user_id,
            paid_medals=spendable.get("paid", 0),
            free_medals=spendable.get("free", 0),
            owed_medals=owed,
            locked=owed > 0,
        )

    async def wallet(self, session: AsyncSession, user_id: str) -> dict[str, Any]:
        """The fan's wallet page: balances, live lots, upcoming expiries, this month's spend."""
        now = self.ctx.now()
        balance = await self.balance(session, user_id)
        rows = (
            await session.execute(
                select(lots_t)
                .where(
                    lots_t.c.user_id == user_id,
                    lots_t.c.remaining + lots_t.c.held > 0,
                    lots_t.c.expires_at > now,
                )
                .order_by(lots_t.c.expires_at, lots_t.c.issued_at, lots_t.c.id)
                .limit(500)
            )
        ).all()
        notice = timedelta(days=self.ctx.settings.medal_expiry_notice_days)
        lots = [
            {
                "id": r.id,
                "kind": r.kind,
                "medals": r.medals,
                "remaining_medals": r.remaining,
                "held_medals": r.held,
                "price_jpy": r.price_jpy,
                "source": r.source,
                "issued_at": r.issued_at,
                "expires_at": r.expires_at,
            }
            for r in rows
        ]
        upcoming = [
            {"lot_id": r.id, "kind": r.kind, "medals": r.remaining, "expires_at": r.expires_at}
            for r in rows
            if r.remaining > 0 and r.expires_at <= now + notice
        ]
        return {
            "user_id": user_id,
            "paid_medals": balance.paid_medals,
            "free_medals": balance.free_medals,
            "owed_medals": balance.owed_medals,
            "locked": balance.locked,
            "spend_order": "free_first" if self.ctx.settings.spend_free_first else "paid_first",
            "lots": lots,
            "upcoming_expiries": upcoming,
            # Filled by the checkout sub-domain, which owns purchases and caps (A2–A4).
            "month_spent_jpy": 0,
            "month_cap_jpy": None,
        }

    async def transactions(
        self, session: AsyncSession, user_id: str, *, cursor: int | None, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """The fan's history, newest first: every ledger transfer touching their accounts."""
        accounts = [wallet_account(user_id, k) for k in KIND_NAMES]
        accounts += [debt_account(user_id, k) for k in KIND_NAMES]
        stmt = (
            select(transfers_t)
            .where(
                or_(
                    transfers_t.c.debit_account_id.in_(accounts),
                    transfers_t.c.credit_account_id.in_(accounts),
                )
            )
            .order_by(transfers_t.c.seq.desc())
            .limit(limit + 1)
        )
        if cursor is not None:
            stmt = stmt.where(transfers_t.c.seq < cursor)
        rows = (await session.execute(stmt)).all()
        pending_ids = [r.pending_id for r in rows if r.pending_id]
        pendings = await self.ledger.lookup(session, pending_ids) if pending_ids else {}
        items = [self._history_item(r, user_id, pendings) for r in rows[:limit]]
        next_cursor = rows[limit - 1].seq if len(rows) > limit else None
        return items, next_cursor

    @staticmethod
    def _history_item(row: Any, user_id: str, pendings: dict[str, Transfer]) -> dict[str, Any]:
        kind = KINDS[row.ledger]
        wallet = wallet_account(user_id, kind)
        flags = row.flags
        code = TransferCode(row.code)
        base = row.id.rsplit("/", 2)[0] if code == TransferCode.SPEND else row.id.rsplit("/", 1)[0]
        if flags & TransferFlags.PENDING:
            kind_name, effect = "spend_reserved", -row.amount
        elif flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING):
            held = pendings[row.pending_id].amount or 0 if row.pending_id in pendings else 0
            if flags & TransferFlags.POST_PENDING:
                kind_name, effect = "spend", held - row.amount
            else:
                kind_name, effect = "spend_released", held
        else:
            kind_name = {
                TransferCode.PURCHASE: "purchase",
                TransferCode.GRANT: "grant",
                TransferCode.SPEND: "spend",
                TransferCode.EXPIRE: "expiry",
                TransferCode.CLAW_BACK: "claw_back",
                TransferCode.DEBT: "debt",
                TransferCode.SETTLE: "settlement",
            }[code]
            if row.credit_account_id == wallet:
                effect = row.amount
            elif row.debit_account_id == wallet:
                effect = -row.amount
            else:
                effect = 0  # debt accounts: the spendable balance does not move
        return {
            "id": row.id,
            "reference": base,
            "type": kind_name,
            "kind": kind,
            "medals": row.amount,
            "balance_effect": effect,
            "occurred_at": row.created_at,
        }

    async def operator_actions(self, session: AsyncSession, user_id: str) -> list[dict[str, Any]]:
        rows = (
            await session.execute(
                select(actions_t)
                .where(actions_t.c.target_user_id == user_id)
                .order_by(actions_t.c.seq.desc())
                .limit(200)
            )
        ).all()
        return [
            {
                "actor_user_id": r.actor_user_id,
                "action": r.action,
                "kind": r.kind,
                "medals": r.medals,
                "reason": r.reason,
                "reference": r.reference,
                "created_at": r.created_at,
            }
            for r in rows
        ]

    async def cached_wallet(self, user_id: str) -> dict[str, Any] | None:
        raw = await self.ctx.cache.get(self.cache_key(user_id))
        return json.loads(raw) if raw else None

    async def cache_wallet(self, user_id: str, view: dict[str, Any]) -> None:
        await self.ctx.cache.set(
            self.cache_key(user_id), json.dumps(view, default=str).encode(), CACHE_TTL_SECONDS
        )

    # -- jobs (each fan in its own transaction) ------------------------------------------

    async def sweep_expired_holds(self, *, limit: int = 500) -> int:
        """Void holds whose timeout passed (the saga crashed or never came back)."""
        now = self.ctx.now()
        async with self.ctx.db.transaction() as session:
            ids = (
                await session.scalars(
                    select(spends_t.c.id)
                    .where(spends_t.c.status == "pending", spends_t.c.expires_at <= now)
                    .order_by(spends_t.c.expires_at)
                    .limit(limit)
                )
            ).all()
        voided = 0
        for transfer_id in ids:
            try:
                async with self.ctx.db.transaction() as session:
                    hold = await self.void(session, transfer_id=transfer_id)
            except MedalsRefused as exc:  # posted meanwhile: nothing to do
                log.info("wallet.sweep_hold_skipped", transfer_id=transfer_id, code=exc.code)
                continue
            if hold.status == "voided":
                voided += 1
        return voided

    async def write_off_expired_lots(self, *, limit: int = 500) -> int:
        """Write expired lots' unused medals off to the expiry account; returns lots written off."""
        now = self.ctx.now()
        async with self.ctx.db.transaction() as session:
            users = (
                await session.scalars(
                    select(lots_t.c.user_id)
                    .where(lots_t.c.expires_at <= now, lots_t.c.remaining > 0)
                    .group_by(lots_t.c.user_id)
                    .limit(limit)
                )
            ).all()
        count = 0
        for user_id in users:
            async with self.ctx.db.transaction() as session:
                count += await self._write_off(session, user_id, now)
        return count

    async def _write_off(self, session: AsyncSession, user_id: str, now: datetime) -> int:
        await self._lock_wallet(session, user_id)
        rows = (
            await session.execute(
                select(lots_t).where(
                    lots_t.c.user_id == user_id, lots_t.c.expires_at <= now, lots_t.c.remaining > 0
                )
            )
        ).all()
        if not rows:
            return 0
        transfers = []
        for row in rows:
            transfer_id = f"expire:{row.id}:{row.consumed}"
            transfers.append(
                Transfer(
                    id=transfer_id,
                    debit_account_id=wallet_account(user_id, row.kind),
                    credit_account_id=system_account("expiry", row.kind, transfer_id),
                    amount=row.remaining,
                    ledger=LEDGERS[row.kind],
                    code=TransferCode.EXPIRE,
                    user_data=row.id,
                )
            )
        # All shards in one sorted statement, after the fan's accounts (the fixed lock order).
        balances = await self._lock_wallet(
            session, user_id, *(t.credit_account_id for t in transfers)
        )
        await self._ledger(session, transfers, balances)
        for row, transfer in zip(rows, transfers, strict=True):
            await self._consume(session, [(row, row.remaining)], "expire", transfer.id, now)
            await self.ctx.outbox.add(
                session,
                MedalLotExpired(
                    user_id=user_id, lot_id=row.id, kind=row.kind, medals=row.remaining
                ),
            )
        self._changed(session, user_id)
        return len(rows)

    async def send_expiry_notices(self, *, limit: int = 1000) -> int:
        """Tell fans once about each lot expiring within the notice period (COMPLIANCE M2)."""
        now = self.ctx.now()
        horizon = now + timedelta(days=self.ctx.settings.medal_expiry_notice_days)
        sent = 0
        async with self.ctx.db.transaction() as session:
            rows = (
                await session.execute(
                    select(lots_t)
                    .where(
                        lots_t.c.expiry_notice_sent_at.is_(None),
                        lots_t.c.expires_at > now,
                        lots_t.c.expires_at <= horizon,
                        lots_t.c.remaining > 0,
                    )
                    .order_by(lots_t.c.expires_at)
                    .limit(limit)
                )
            ).all()
            for row in rows:
                # Conditional update: of two racing sweepers only one sends the notice.
                claimed = await session.execute(
                    update(lots_t)
                    .where(and_(lots_t.c.id == row.id, lots_t.c.expiry_notice_sent_at.is_(None)))
                    .values(expiry_notice_sent_at=now)
                )
                if claimed.rowcount:  # type: ignore[attr-defined]
                    await self.ctx.outbox.add(
                        session,
                        MedalLotExpiringSoon(
                            user_id=row.user_id,
                            lot_id=row.id,
                            kind=row.kind,
                            medals=row.remaining,
                            expires_at=row.expires_at,
                        ),
                    )
                    sent += 1
        return sent

    async def sweep(self) -> dict[str, int]:
        """One round of every wallet job (the background task and tests call this)."""
        return {
            "holds_voided": await self.sweep_expired_holds(),
            "lots_written_off": await self.write_off_expired_lots(),
            "notices_sent": await self.send_expiry_notices(),
        }

    async def run_sweeps(self) -> None:
        """Background task: sweep every ``wallet_sweep_seconds`` until cancelled.

        A round in progress is finished before the cancellation is honoured (up to 10 s), so a
        stopping process never abandons a fan's transaction half-way through the driver."""
        while True:
            await asyncio.sleep(self.ctx.settings.wallet_sweep_seconds)
            current = asyncio.ensure_future(self.sweep())
            try:
                await asyncio.shield(current)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(current, 10)
                raise
            except Exception as exc:
                log.warning("wallet.sweep_failed", error=repr(exc))


__all__ = ["AccountCode", "ClawBack", "IssuedLot", "WalletService"]
