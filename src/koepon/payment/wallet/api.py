"""Wallet routes: the fan's wallet and history, operators' grants and claw-backs, and the
``/internal`` spending API other services call through ``client.py``."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.payment import MedalHold, MedalsRefused, WalletBalance
from koepon.kernel.problems import Problem
from koepon.kernel.tokens import Principal
from koepon.payment.context import PaymentContext
from koepon.payment.ledger.audit import audit_ledger
from koepon.payment.wallet.schemas import (
    AdminWalletRead,
    AuditRead,
    ClawBackCreate,
    ClawBackRead,
    GrantCreate,
    GrantRead,
    HoldCreate,
    HoldPost,
    TransactionPage,
    WalletRead,
)

OPERATORS = ("admin", "support")


@contextmanager
def refusals_as_problems() -> Iterator[None]:
    try:
        yield
    except MedalsRefused as exc:
        raise Problem(exc.status, exc.code, exc.detail) from exc


def _key(idempotency_key: str | None, prefix: str) -> str:
    """Our transfer id from the caller's Idempotency-Key (or a fresh one)."""
    if idempotency_key is None:
        return f"{prefix}:{uuid.uuid4()}"
    if not 1 <= len(idempotency_key) <= 100 or "/" in idempotency_key:
        raise Problem(422, "invalid_idempotency_key", "Idempotency-Key: 1–100 chars, no '/'")
    return f"{prefix}:{idempotency_key}"


async def wallet_view(ctx: PaymentContext, session: AsyncSession, user_id: str) -> dict[str, Any]:
    view = await ctx.wallets.wallet(session, user_id)
    # The checkout sub-domain knows pending purchases and caps (COMPLIANCE A2–A3, A4).
    spending = ctx.services.get("month_purchases")
    if spending is not None:
        view["month_spent_jpy"], view["month_cap_jpy"] = await spending(session, user_id)
    return view


def build_router(ctx: PaymentContext) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["wallet"])
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    Session = Annotated[AsyncSession, session_dep]
    Fan = Annotated[Principal, Depends(ctx.authenticator.user)]
    Operator = Annotated[Principal, Depends(ctx.authenticator.roles(*OPERATORS))]
    Auditor = Annotated[Principal, Depends(ctx.authenticator.roles("admin", "compliance"))]

    @router.get("/wallet", response_model=WalletRead)
    async def get_wallet(principal: Fan, session: Session) -> Any:
        """Balances, lots, upcoming expiries and this month's purchases (COMPLIANCE M1–M2, A4).

        Served from the balance cache when fresh; the cache is dropped on every change and is
        never used to decide a spend."""
        cached = await ctx.wallets.cached_wallet(principal.user_id)
        if cached is not None:
            return cached
        view = await wallet_view(ctx, session, principal.user_id)
        await ctx.wallets.cache_wallet(principal.user_id, view)
        return view

    @router.get("/wallet/transactions", response_model=TransactionPage)
    async def get_transactions(
        principal: Fan,
        session: Session,
        cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]+$")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Any:
        items, next_cursor = await ctx.wallets.transactions(
            session, principal.user_id, cursor=int(cursor) if cursor else None, limit=limit
        )
        return {"items": items, "next_cursor": str(next_cursor) if next_cursor else None}

    @router.get("/admin/wallets/{user_id}", response_model=AdminWalletRead)
    async def get_admin_wallet(user_id: str, principal: Operator, session: Session) -> Any:
        return {
            "wallet": await wallet_view(ctx, session, user_id),
            "operator_actions": await ctx.wallets.operator_actions(session, user_id),
        }

    @router.post("/admin/wallets/{user_id}/grants", response_model=GrantRead, status_code=201)
    async def grant(
        user_id: str,
        body: GrantCreate,
        principal: Operator,
        session: Session,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Any:
        """Give a fan free medals (campaign, compensation); recorded with who and why."""
        transfer_id = _key(idempotency_key, f"grant:{principal.user_id}")
        with refusals_as_problems():
            lot = await ctx.wallets.grant(
                session,
                user_id=user_id,
                medals=body.medals,
                reason=body.reason,
                actor=principal.user_id,
                transfer_id=transfer_id,
                expires_at=body.expires_at,
            )
        return {
            "lot_id": lot.id,
            "user_id": user_id,
            "medals": lot.medals,
            "expires_at": lot.expires_at,
            "transfer_id": transfer_id,
        }

    @router.post(
        "/admin/wallets/{user_id}/claw-backs", response_model=ClawBackRead, status_code=201
    )
    async def claw_back(
        user_id: str,
        body: ClawBackCreate,
        principal: Operator,
        session: Session,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Any:
        """Take medals back (chargeback); a shortfall is owed and locks the wallet."""
        transfer_id = _key(idempotency_key, f"claw:{principal.user_id}")
        with refusals_as_problems():
            result = await ctx.wallets.claw_back(
                session,
                user_id=user_id,
                medals=body.medals,
                kind=body.kind,
                transfer_id=transfer_id,
                reason=body.reason,
                actor=principal.user_id,
                lot_transfer_id=body.lot_transfer_id,
            )
        return {
            "transfer_id": transfer_id,
            "user_id": user_id,
            "kind": result.kind,
            "medals": result.medals,
            "taken_medals": result.taken_medals,
            "owed_medals": result.owed_medals,
        }

    @router.get("/admin/ledger/audit", response_model=AuditRead)
    async def audit(principal: Auditor) -> Any:
        """Every ledger invariant checked now (the same as ``koepon audit ledger``)."""
        violations = await audit_ledger(ctx.db)
        return {"ok": not violations, "violations": violations}

    return router


def build_internal_router(ctx: PaymentContext) -> APIRouter:
    """Spending for other services (gacha's draw saga) — the HTTP side of ``MedalWallets``."""
    router = APIRouter()
    Session = Annotated[AsyncSession, Depends(ctx.db.session_dependency, scope="function")]

    @router.post("/holds", response_model=MedalHold)
    async def reserve(body: HoldCreate, session: Session) -> Any:
        with refusals_as_problems():
            return await ctx.wallets.reserve(
                session,
                user_id=body.user_id,
                medals=body.medals,
                transfer_id=body.transfer_id,
                timeout_seconds=body.timeout_seconds,
            )

    @router.get("/holds/{transfer_id}", response_model=MedalHold)
    async def get_hold(transfer_id: str, session: Session) -> Any:
        hold = await ctx.wallets.find_hold(session, transfer_id)
        if hold is None:
            raise Problem(404, "hold_not_found", f"No medal hold {transfer_id!r}")
        return hold

    @router.post("/holds/{transfer_id}/post", response_model=MedalHold)
    async def post(transfer_id: str, body: HoldPost, session: Session) -> Any:
        with refusals_as_problems():
            return await ctx.wallets.post(session, transfer_id=transfer_id, medals=body.medals)

    @router.post("/holds/{transfer_id}/void", response_model=MedalHold)
    async def void(transfer_id: str, session: Session) -> Any:
        with refusals_as_problems():
            return await ctx.wallets.void(session, transfer_id=transfer_id)

    @router.get("/wallets/{user_id}", response_model=WalletBalance)
    async def balance(user_id: str, session: Session) -> Any:
        return await ctx.wallets.balance(session, user_id)

    return router
