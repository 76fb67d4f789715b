"""Wallet use cases: issue lots, grant, claw back, spend (one or two phases), read the wallet.

Every operation on a fan's wallet first locks that fan's ledger accounts (wallet and debt
accounts of both kinds, plus the platform shards it will use) in one sorted statement; all
changes to the fan's lots happen under that lock, so the lots need no lock of their own and a
fan's operations are serialised while different fans' run in parallel. The lots and the ledger
change in the same transaction, so a wallet balance is always the sum of its lots.

Refusals are typed ``MedalsRefused`` subclasses (``contracts/payment.py``); the edge maps them to
problems. Queries live in ``repository.py``, the ledger transfers in ``transfers.py``, the lot
arithmetic in ``lots.py``; the sweeps in ``tasks.py``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.payment import (
    InsufficientMedals,
    InvalidAmount,
    InvalidExpiry,
    InvalidKind,
    InvalidPrice,
    InvalidTransferId,
    MedalHold,
    MedalLotIssued,
    MedalsClawedBack,
    ReasonRequired,
    TransferIdReused,
)
from koepon.payment.context import PaymentContext
from koepon.payment.ledger.accounts import LEDGERS, debt_account, system_account, wallet_account
from koepon.payment.ledger.rules import Balance, LedgerError, Transfer
from koepon.payment.ledger.service import Ledger
from koepon.payment.wallet import lots as lot_rules
from koepon.payment.wallet import repository as repo
from koepon.payment.wallet import transfers as plan
from koepon.payment.wallet.schemas import (
    ClawBack,
    IssuedLot,
    MonthSpending,
)
from koepon.payment.wallet.states import KIND_NAMES, MedalKind

MAX_TRANSFER_ID = 150
MAX_MEDALS = 10**12


class MonthPurchases(Protocol):
    """Who owns purchases (the checkout sub-domain) answers this for the wallet page."""

    async def __call__(self, session: AsyncSession, user_id: str) -> MonthSpending: ...


def medal_hold(spend: Any) -> MedalHold:
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


def check_transfer_id(transfer_id: str) -> None:
    if not transfer_id or len(transfer_id) > MAX_TRANSFER_ID or "/" in transfer_id:
        raise InvalidTransferId(f"transfer_id must be 1–{MAX_TRANSFER_ID} characters without '/'")


def check_medals(medals: int) -> None:
    if not isinstance(medals, int) or not 0 < medals <= MAX_MEDALS:
        raise InvalidAmount("medals must be a positive integer")


def check_kind(kind: str) -> None:
    if kind not in LEDGERS:
        raise InvalidKind(f"Unknown medal kind {kind!r}")


class WalletService:
    """Fans' wallets in the payment database of ``ctx``."""

    def __init__(self, ctx: PaymentContext, ledger: Ledger) -> None:
        self.ctx = ctx
        self.ledger = ledger

    # -- locking -------------------------------------------------------------------------

    @staticmethod
    def accounts(user_id: str) -> list[str]:
        """The fan's own accounts: wallet and debt of each kind."""
        return [wallet_account(user_id, k) for k in KIND_NAMES] + [
            debt_account(user_id, k) for k in KIND_NAMES
        ]

    async def lock_wallet(
        self, session: AsyncSession, user_id: str, *extra: str
    ) -> dict[str, Balance]:
        return await self.ledger.lock(session, [*self.accounts(user_id), *extra])

    @staticmethod
    def owed(balances: dict[str, Balance], user_id: str, kind: MedalKind) -> int:
        debt = balances[debt_account(user_id, kind)]
        return debt.debits_posted - debt.credits_posted

    async def apply(
        self, session: AsyncSession, transfers: list[Transfer], balances: dict[str, Balance]
    ) -> None:
        """Apply ledger transfers, turning the ledger's refusals into wallet refusals."""
        if not transfers:
            return
        try:
            await self.ledger.transfer(session, transfers, locked=balances)
        except LedgerError as exc:
            if exc.code == "transfer_id_reused":
                raise TransferIdReused(f"Transfer id reused: {exc.transfer_id}") from exc
            if exc.code == "exceeds_credits":
                raise InsufficientMedals("Not enough medals") from exc
            raise

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
        check_kind(kind)
        check_medals(medals)
        if price_jpy < 0 or (kind == "free" and price_jpy):
            raise InvalidPrice("price_jpy must be ≥ 0, and 0 for free medals")
        check_transfer_id(transfer_id)
        now = self.ctx.now()
        issuance = system_account("issuance", kind, f"{transfer_id}/issue")
        balances = await self.lock_wallet(session, user_id, issuance)
        existing = await repo.lot_by_transfer(session, transfer_id)
        if existing is not None:
            same = (existing.user_id, existing.kind, existing.medals, existing.price_jpy) == (
                user_id,
                kind,
                medals,
                price_jpy,
            ) and existing.source == source
            if not same:
                raise TransferIdReused(f"{transfer_id} was used for another lot")
            return _issued(existing, await repo.moved_medals(session, f"{transfer_id}/settle"))
        if expires_at is None:
            own = self.ctx.payment_settings
            days = own.paid_medal_validity_days if kind == "paid" else own.free_medal_validity_days
            expires_at = lot_rules.expiry_for(now, days)
        if expires_at <= now:
            raise InvalidExpiry("expires_at must be in the future")
        transfers, settle = plan.issue(
            user_id=user_id,
            kind=kind,
            medals=medals,
            source=source,
            transfer_id=transfer_id,
            issuance_account=issuance,
            owed=self.owed(balances, user_id, kind),
        )
        await self.apply(session, transfers, balances)
        lot_id = str(uuid.uuid4())
        await repo.insert_lot(
            session,
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
        movement = dict(lot_id=lot_id, user_id=user_id, kind=kind, occurred_at=now)
        movements = [
            dict(
                movement,
                entry="issue",
                medals=medals,
                value_jpy=price_jpy,
                transfer_id=f"{transfer_id}/issue",
            )
        ]
        if settle:
            value = lot_rules.consumption_value_jpy(price_jpy, medals, 0, settle)
            movements.append(
                dict(
                    movement,
                    entry="settle",
                    medals=settle,
                    value_jpy=value,
                    transfer_id=f"{transfer_id}/settle",
                )
            )
        await repo.insert_movements(session, movements)
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
        return IssuedLot(
            lot_id, user_id, kind, medals, price_jpy, source, now, expires_at, transfer_id, settle
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
            raise ReasonRequired("A grant needs a reason")
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
        await repo.record_action(
            session,
            actor_user_id=actor,
            action=action,
            target_user_id=user_id,
            kind=kind,
            medals=medals,
            reason=reason[:500],
            reference=reference,
            created_at=self.ctx.now(),
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
        check_kind(kind)
        check_medals(medals)
        if not reason.strip():
            raise ReasonRequired("A claw-back needs a reason")
        check_transfer_id(transfer_id)
        now = self.ctx.now()
        take_id, owe_id = f"{transfer_id}/claw_back", f"{transfer_id}/debt"
        shard = system_account("claw_back", kind, take_id)
        balances = await self.lock_wallet(session, user_id, shard)
        done = await self.ledger.lookup(session, [take_id, owe_id])
        if done:
            total = sum(t.amount or 0 for t in done.values())
            accounts = {wallet_account(user_id, kind), debt_account(user_id, kind)}
            if total != medals or not all(t.debit_account_id in accounts for t in done.values()):
                raise TransferIdReused(f"{transfer_id} was used for another claw-back")
            taken = done[take_id].amount if take_id in done else 0
            return ClawBack(
                transfer_id,
                user_id,
                kind,
                medals,
                taken or 0,
                self.owed(balances, user_id, kind),
                await repo.moved_value_jpy(session, take_id),
            )
        rows = await repo.live_lots(session, user_id, now, kind=kind)
        by_id = {row.id: row for row in rows}
        takes = lot_rules.plan_claw_back(
            [
                lot_rules.ClawBackLot(
                    r.id, r.kind, r.transfer_id, r.remaining, r.issued_at, r.expires_at
                )
                for r in rows
            ],
            medals,
            first_transfer_id=lot_transfer_id,
        )
        taken = sum(t.medals for t in takes)
        transfers = plan.claw_back(
            user_id=user_id,
            kind=kind,
            transfer_id=transfer_id,
            shard=shard,
            taken=taken,
            owed=medals - taken,
            reason=reason,
        )
        await self.apply(session, transfers, balances)
        value = await repo.consume(
            session, [(by_id[t.lot_id], t.medals) for t in takes], "claw_back", take_id, now
        )
        await self._record_action(
            session, actor, "claw_back", user_id, kind, medals, reason, transfer_id
        )
        owed = self.owed(balances, user_id, kind)
        await self.ctx.outbox.add(
            session,
            MedalsClawedBack(
                user_id=user_id, kind=kind, medals=medals, owed_medals=owed, reason=reason[:200]
            ),
        )
        return ClawBack(transfer_id, user_id, kind, medals, taken, owed, value)
