"""The wallet's background jobs: void timed-out holds, write expired lots off, send notices.

Each fan is handled in its own transaction (the ledger's sorted-lock order holds per fan).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.payment import MedalLotExpired, MedalLotExpiringSoon, MedalsRefused
from koepon.kernel import jobs
from koepon.payment.ledger.accounts import system_account
from koepon.payment.wallet import repository as repo
from koepon.payment.wallet import transfers as plan
from koepon.payment.wallet.service import WalletService
from koepon.payment.wallet.spending import Spending

log = structlog.get_logger(__name__)


class WalletSweeper:
    """One round of every wallet job (``sweep``) and the loop running it (``run``)."""

    def __init__(self, wallets: WalletService, spending: Spending) -> None:
        self.wallets = wallets
        self.spending = spending
        self.ctx = wallets.ctx

    async def sweep_expired_holds(self, *, limit: int = 500) -> int:
        """Void holds whose timeout passed (the saga crashed or never came back)."""
        now = self.ctx.now()
        async with self.ctx.db.transaction() as session:
            ids = await repo.overdue_holds(session, now, limit)
        voided = 0
        for transfer_id in ids:
            try:
                async with self.ctx.db.transaction() as session:
                    hold = await self.spending.void(session, transfer_id=transfer_id)
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
            users = await repo.users_with_expired_lots(session, now, limit)
        count = 0
        for user_id in users:
            async with self.ctx.db.transaction() as session:
                count += await self._write_off(session, user_id, now)
        return count

    async def _write_off(self, session: AsyncSession, user_id: str, now: datetime) -> int:
        await self.wallets.lock_wallet(session, user_id)
        rows = await repo.expired_lots(session, user_id, now)
        if not rows:
            return 0
        transfers = []
        for row in rows:
            transfer_id = plan.expiry_id(row.id, row.consumed)
            transfers.append(
                plan.expire(
                    user_id=user_id,
                    kind=row.kind,
                    lot_id=row.id,
                    transfer_id=transfer_id,
                    medals=row.remaining,
                    shard=system_account("expiry", row.kind, transfer_id),
                )
            )
        # All shards in one sorted statement, after the fan's accounts (the fixed lock order).
        balances = await self.wallets.lock_wallet(
            session, user_id, *(t.credit_account_id for t in transfers)
        )
        await self.wallets.apply(session, transfers, balances)
        for row, transfer in zip(rows, transfers, strict=True):
            await repo.consume(session, [(row, row.remaining)], "expire", transfer.id, now)
            await self.ctx.outbox.add(
                session,
                MedalLotExpired(
                    user_id=user_id, lot_id=row.id, kind=row.kind, medals=row.remaining
                ),
            )
        return len(rows)

    async def send_expiry_notices(self, *, limit: int = 1000) -> int:
        """Tell fans once about each lot expiring within the notice period (COMPLIANCE M2)."""
        now = self.ctx.now()
        horizon = now + timedelta(days=self.ctx.payment_settings.medal_expiry_notice_days)
        sent = 0
        async with self.ctx.db.transaction() as session:
            for row in await repo.lots_to_notify(session, now, horizon, limit):
                if await repo.claim_notice(session, row.id, now):
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

    async def run(self) -> None:
        """Background task: sweep every ``wallet_sweep_seconds`` until cancelled.

        A round in progress is finished before the cancellation is honoured (up to 10 s), so a
        stopping process never abandons a fan's transaction half-way through the driver."""
        while True:
            await jobs.pause(self.ctx.payment_settings.wallet_sweep_seconds)
            current = asyncio.ensure_future(self.sweep())
            try:
                await asyncio.shield(current)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(current, 10)
                raise
            except Exception as exc:
                log.warning("wallet.sweep_failed", error=repr(exc))
