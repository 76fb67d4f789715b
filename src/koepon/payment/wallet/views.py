"""The wallet's reads: spendable balance, the fan's wallet page and history, operators' view.

Reads take no lock. The page's lots come from the versioned cache (``cache.py``) when the
wallet has not changed; spending decisions never use the cache (``balance`` reads the lots).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.payment import (
    MAX_POSTED_VALUES,
    MedalHold,
    PostedSpend,
    TooManyTransferIds,
    WalletBalance,
)
from koepon.payment.ledger.accounts import debt_account
from koepon.payment.ledger.repository import transfers_touching
from koepon.payment.wallet import repository as repo
from koepon.payment.wallet.cache import WalletPages, wallet_version
from koepon.payment.wallet.history import history_item
from koepon.payment.wallet.schemas import (
    ExpiryRead,
    LotRead,
    MonthSpending,
    OperatorActionRead,
    TransactionRead,
    WalletRead,
)
from koepon.payment.wallet.service import WalletService, medal_hold
from koepon.payment.wallet.states import KIND_NAMES

PAGE_LOTS = 500
OPERATOR_ACTIONS = 200


def page_changes_at(page: WalletRead, now: datetime, notice: timedelta) -> datetime | None:
    """When the page would change with no transfer at all: a lot expires (it stops counting)
    or comes within the expiry notice period. The cached page must not outlive that instant."""
    instants = [lot.expires_at for lot in page.lots]
    instants += [lot.expires_at - notice for lot in page.lots]
    future = [instant for instant in instants if instant > now]
    return min(future) if future else None


class WalletViews:
    """Reads of the wallets of ``wallets``."""

    def __init__(self, wallets: WalletService) -> None:
        self.wallets = wallets
        self.ctx = wallets.ctx
        self.ledger = wallets.ledger
        self.pages = WalletPages(wallets.ctx.cache, wallets.ctx.now)

    def accounts(self, user_id: str) -> list[str]:
        return self.wallets.accounts(user_id)

    # -- reads ---------------------------------------------------------------------------

    async def balance(self, session: AsyncSession, user_id: str) -> WalletBalance:
        """Spendable medals now, from the database (the one source for spending decisions)."""
        spendable = await repo.spendable_by_kind(session, user_id, self.ctx.now())
        debts = await self.ledger.balances(session, [debt_account(user_id, k) for k in KIND_NAMES])
        owed = sum(b.debits_posted - b.credits_posted for b in debts.values())
        return WalletBalance(
            user_id=user_id,
            paid_medals=spendable.get("paid", 0),
            free_medals=spendable.get("free", 0),
            owed_medals=owed,
            locked=owed > 0,
        )

    async def page(self, session: AsyncSession, user_id: str, month: MonthSpending) -> WalletRead:
        """The fan's wallet page: balances, live lots, upcoming expiries, this month's spend.

        The lots part comes from the cache when the wallet has not changed since it was cached
        (its version is read from the database now); the month's figures are always fresh."""
        free_first = self.ctx.payment_settings.spend_free_first
        version = wallet_version(
            await self.ledger.balances(session, self.accounts(user_id)), free_first=free_first
        )
        page = await self.pages.get(user_id, version)
        if page is None:
            now = self.ctx.now()
            page = await self._page(session, user_id, free_first=free_first)
            notice = timedelta(days=self.ctx.payment_settings.medal_expiry_notice_days)
            await self.pages.put(user_id, version, page, until=page_changes_at(page, now, notice))
        return page.model_copy(
            update={"month_spent_jpy": month.spent_jpy, "month_cap_jpy": month.cap_jpy}
        )

    async def _page(self, session: AsyncSession, user_id: str, *, free_first: bool) -> WalletRead:
        now = self.ctx.now()
        balance = await self.balance(session, user_id)
        rows = await repo.page_lots(session, user_id, now, PAGE_LOTS)
        notice = timedelta(days=self.ctx.payment_settings.medal_expiry_notice_days)
        return WalletRead(
            user_id=user_id,
            paid_medals=balance.paid_medals,
            free_medals=balance.free_medals,
            owed_medals=balance.owed_medals,
            locked=balance.locked,
            spend_order="free_first" if free_first else "paid_first",
            lots=[
                LotRead(
                    id=r.id,
                    kind=r.kind,
                    medals=r.medals,
                    remaining_medals=r.remaining,
                    held_medals=r.held,
                    price_jpy=r.price_jpy,
                    source=r.source,
                    issued_at=r.issued_at,
                    expires_at=r.expires_at,
                )
                for r in rows
            ],
            upcoming_expiries=[
                ExpiryRead(lot_id=r.id, kind=r.kind, medals=r.remaining, expires_at=r.expires_at)
                for r in rows
                if r.remaining > 0 and r.expires_at <= now + notice
            ],
            month_spent_jpy=0,
            month_cap_jpy=None,
        )

    async def transactions(
        self, session: AsyncSession, user_id: str, *, cursor: int | None, limit: int
    ) -> tuple[list[TransactionRead], int | None]:
        """The fan's history, newest first: every ledger transfer touching their accounts."""
        rows = await transfers_touching(
            session, self.accounts(user_id), before_seq=cursor, limit=limit + 1
        )
        pending_ids = [r.pending_id for r in rows if r.pending_id]
        pendings = await self.ledger.lookup(session, pending_ids) if pending_ids else {}
        items = [history_item(r, user_id, pendings) for r in rows[:limit]]
        next_cursor = rows[limit - 1].seq if len(rows) > limit else None
        return items, next_cursor

    async def operator_actions(
        self, session: AsyncSession, user_id: str
    ) -> list[OperatorActionRead]:
        rows = await repo.operator_actions(session, user_id, OPERATOR_ACTIONS)
        return [
            OperatorActionRead(
                actor_user_id=r.actor_user_id,
                action=r.action,
                kind=r.kind,
                medals=r.medals,
                reason=r.reason,
                reference=r.reference,
                created_at=r.created_at,
            )
            for r in rows
        ]

    async def find_hold(self, session: AsyncSession, transfer_id: str) -> MedalHold | None:
        spend = await repo.spend_by_id(session, transfer_id)
        return medal_hold(spend) if spend is not None else None

    async def posted_values(
        self, session: AsyncSession, transfer_ids: Sequence[str]
    ) -> dict[str, PostedSpend]:
        """What the ledger holds for each of ``transfer_ids`` it knows (one query)."""
        if len(transfer_ids) > MAX_POSTED_VALUES:
            raise TooManyTransferIds(
                f"At most {MAX_POSTED_VALUES} transfer ids at a time ({len(transfer_ids)} given)"
            )
        return {
            spend.id: PostedSpend(
                transfer_id=spend.id,
                status=spend.status,
                posted_paid_medals=spend.posted_paid_medals,
                posted_free_medals=spend.posted_free_medals,
                posted_paid_value_jpy=spend.posted_paid_value_jpy,
            )
            for spend in await repo.spends_by_ids(session, transfer_ids)
        }
