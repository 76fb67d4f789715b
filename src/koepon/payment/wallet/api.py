"""Wallet routes: the fan's wallet and history, operators' grants and claw-backs, the ledger
audit, and the ``/internal`` spending API other services call through ``client.py``.

Services come in as FastAPI dependencies (``provide``); refusals are the services' typed
``MedalsRefused`` errors, mapped to problems at the edge.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.auth import AccountNotFound
from koepon.contracts.payment import HoldNotFound, MedalHold, WalletBalance
from koepon.kernel.errors import NotFound, Unavailable
from koepon.kernel.idempotency import idempotency_key
from koepon.kernel.pagination import SequenceCursor
from koepon.kernel.tokens import Principal
from koepon.payment.context import PaymentContext, provide
from koepon.payment.wallet.audit import audit_ledger
from koepon.payment.wallet.schemas import (
    AdminWalletRead,
    AuditRead,
    ClawBackCreate,
    ClawBackRead,
    GrantCreate,
    GrantRead,
    HoldCreate,
    HoldPost,
    PostedValuesQuery,
    PostedValuesRead,
    TransactionPage,
    WalletRead,
)
from koepon.payment.wallet.service import MonthPurchases, WalletService
from koepon.payment.wallet.spending import Spending
from koepon.payment.wallet.views import WalletViews

OPERATORS = ("admin", "support")
# Our transfer ids are "<prefix>:<actor>:<key>" (≤ 150 characters, see service.py).
KEY_LENGTH = 100


class UnknownAccount(NotFound):
    code = "account_not_found"


OptionalKey = Annotated[str | None, Depends(idempotency_key(required=False, max_length=KEY_LENGTH))]


def transfer_id(prefix: str, actor: str, key: str | None, fresh: str) -> str:
    """Our transfer id from the caller's Idempotency-Key (or a fresh one)."""
    return f"{prefix}:{actor}:{key if key is not None else fresh}"


async def existing_account(ctx: PaymentContext, user_id: str) -> None:
    """Operators grant to and claw back from real accounts only: the auth service knows."""
    try:
        await ctx.auth.spending_profile(user_id)
    except AccountNotFound as exc:
        raise UnknownAccount(f"No account with the id {user_id!r}", user_id=user_id) from exc
    except Exception as exc:
        raise Unavailable("Accounts cannot be checked right now; nothing was changed") from exc


def build_router(
    ctx: PaymentContext,
    wallets: WalletService,
    views: WalletViews,
    month_purchases: MonthPurchases,
) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["wallet"])
    Session = Annotated[AsyncSession, Depends(ctx.db.session_dependency, scope="function")]
    # The history may lag by the read replica's delay; balances, lots and holds never do
    # (docs/DEPLOY.md "Read replicas").
    Reader = Annotated[AsyncSession, Depends(ctx.db.reader.session_dependency, scope="function")]
    Wallets = Annotated[WalletService, Depends(provide(wallets))]
    Views = Annotated[WalletViews, Depends(provide(views))]
    Month = Annotated[MonthPurchases, Depends(provide(month_purchases))]
    Fan = Annotated[Principal, Depends(ctx.authenticator.user)]
    Operator = Annotated[Principal, Depends(ctx.authenticator.roles(*OPERATORS))]
    Auditor = Annotated[Principal, Depends(ctx.authenticator.roles("admin", "compliance"))]

    @router.get("/wallet", response_model=WalletRead)
    async def get_wallet(
        principal: Fan, session: Session, views: Views, month: Month
    ) -> WalletRead:
        """Balances, lots, upcoming expiries and this month's purchases (COMPLIANCE M1–M2, A4).

        The lots may come from the cache, keyed by the wallet's current version (never stale);
        the month's purchases are read now, so they agree with the receipts."""
        spending = await month(session, principal.user_id)
        return await views.page(session, principal.user_id, spending)

    @router.get("/wallet/transactions", response_model=TransactionPage)
    async def get_transactions(
        principal: Fan,
        session: Reader,
        views: Views,
        cursor: SequenceCursor = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> TransactionPage:
        items, next_cursor = await views.transactions(
            session, principal.user_id, cursor=cursor or None, limit=limit
        )
        return TransactionPage(items=items, next_cursor=str(next_cursor) if next_cursor else None)

    @router.get("/admin/wallets/{user_id}", response_model=AdminWalletRead)
    async def get_admin_wallet(
        user_id: str, principal: Operator, session: Session, views: Views, month: Month
    ) -> AdminWalletRead:
        spending = await month(session, user_id)
        return AdminWalletRead(
            wallet=await views.page(session, user_id, spending),
            operator_actions=await views.operator_actions(session, user_id),
        )

    @router.post("/admin/wallets/{user_id}/grants", response_model=GrantRead, status_code=201)
    async def grant(
        user_id: str,
        body: GrantCreate,
        principal: Operator,
        session: Session,
        wallets: Wallets,
        key: OptionalKey,
    ) -> GrantRead:
        """Give a fan free medals (campaign, compensation); recorded with who and why."""
        transfer = transfer_id("grant", principal.user_id, key, _fresh())
        await existing_account(ctx, user_id)
        lot = await wallets.grant(
            session,
            user_id=user_id,
            medals=body.medals,
            reason=body.reason,
            actor=principal.user_id,
            transfer_id=transfer,
            expires_at=body.expires_at,
        )
        return GrantRead(
            lot_id=lot.id,
            user_id=user_id,
            medals=lot.medals,
            expires_at=lot.expires_at,
            transfer_id=transfer,
        )

    @router.post(
        "/admin/wallets/{user_id}/claw-backs", response_model=ClawBackRead, status_code=201
    )
    async def claw_back(
        user_id: str,
        body: ClawBackCreate,
        principal: Operator,
        session: Session,
        wallets: Wallets,
        key: OptionalKey,
    ) -> ClawBackRead:
        """Take medals back (chargeback); a shortfall is owed and locks the wallet."""
        transfer = transfer_id("claw", principal.user_id, key, _fresh())
        await existing_account(ctx, user_id)
        result = await wallets.claw_back(
            session,
            user_id=user_id,
            medals=body.medals,
            kind=body.kind,
            transfer_id=transfer,
            reason=body.reason,
            actor=principal.user_id,
            lot_transfer_id=body.lot_transfer_id,
        )
        return ClawBackRead(
            transfer_id=transfer,
            user_id=user_id,
            kind=body.kind,
            medals=result.medals,
            taken_medals=result.taken_medals,
            owed_medals=result.owed_medals,
        )

    @router.get("/admin/ledger/audit", response_model=AuditRead)
    async def audit(principal: Auditor) -> AuditRead:
        """Every ledger invariant checked now (the same as ``koepon audit ledger``)."""
        violations = await audit_ledger(ctx.db)
        return AuditRead(ok=not violations, violations=violations)

    return router


def build_internal_router(ctx: PaymentContext, spending: Spending, views: WalletViews) -> APIRouter:
    """Spending for other services (gacha's draw saga) — the HTTP side of ``MedalWallets``."""
    router = APIRouter()
    Session = Annotated[AsyncSession, Depends(ctx.db.session_dependency, scope="function")]
    Spend = Annotated[Spending, Depends(provide(spending))]
    Views = Annotated[WalletViews, Depends(provide(views))]

    @router.post("/holds", response_model=MedalHold)
    async def reserve(body: HoldCreate, session: Session, spending: Spend) -> MedalHold:
        return await spending.reserve(
            session,
            user_id=body.user_id,
            medals=body.medals,
            transfer_id=body.transfer_id,
            timeout_seconds=body.timeout_seconds,
        )

    @router.get("/holds/{transfer_id}", response_model=MedalHold)
    async def get_hold(transfer_id: str, session: Session, views: Views) -> MedalHold:
        hold = await views.find_hold(session, transfer_id)
        if hold is None:
            raise HoldNotFound(f"No medal hold {transfer_id!r}")
        return hold

    @router.post("/holds/posted-values", response_model=PostedValuesRead)
    async def posted_values(body: PostedValuesQuery, views: Views) -> PostedValuesRead:
        """What the ledger holds for each known transfer id (at most 200; read only)."""
        async with ctx.db.transaction(read_only=True) as session:
            found = await views.posted_values(session, body.transfer_ids)
        return PostedValuesRead(spends=list(found.values()))

    @router.post("/holds/{transfer_id}/post", response_model=MedalHold)
    async def post(
        transfer_id: str, body: HoldPost, session: Session, spending: Spend
    ) -> MedalHold:
        return await spending.post(session, transfer_id=transfer_id, medals=body.medals)

    @router.post("/holds/{transfer_id}/void", response_model=MedalHold)
    async def void(transfer_id: str, session: Session, spending: Spend) -> MedalHold:
        return await spending.void(session, transfer_id=transfer_id)

    @router.get("/wallets/{user_id}", response_model=WalletBalance)
    async def balance(user_id: str, session: Session, views: Views) -> WalletBalance:
        return await views.balance(session, user_id)

    return router


def _fresh() -> str:
    return str(uuid.uuid4())
