"""Payouts routes: statements for the VTuber's team and operators, month closing, batches, the
全銀 file (API.md "VTuber studio", "Operators")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.errors import DomainError
from koepon.kernel.idempotency import StoredResponse, idempotency_key, request_fingerprint
from koepon.kernel.problems import PROBLEM_JSON, Problem
from koepon.kernel.tokens import Principal
from koepon.vtuber.context import VtuberContext, provide
from koepon.vtuber.payouts import medals
from koepon.vtuber.payouts.months import MONTH_PATTERN
from koepon.vtuber.payouts.schemas import (
    BatchCreate,
    BatchCreated,
    BatchList,
    BatchRead,
    CloseMonth,
    MedalReconciliation,
    MonthClosing,
    MonthStatements,
    Reconciliation,
    StatementDetail,
    StatementPage,
)
from koepon.vtuber.payouts.service import Payouts

VtuberId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
BatchId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
MonthPath = Annotated[str, Path(pattern=MONTH_PATTERN, description="JST month, YYYY-MM")]
MonthQuery = Annotated[str, Query(pattern=MONTH_PATTERN, description="JST month, YYYY-MM")]
OptionalMonth = Annotated[
    str | None, Query(pattern=MONTH_PATTERN, description="only this JST month, YYYY-MM")
]
MonthCursor = Annotated[
    str | None, Query(pattern=MONTH_PATTERN, description="The next_cursor of the previous page")
]
Limit = Annotated[int, Query(ge=1, le=100, description="Items per page (1–100)")]
NO_STORE = {"Cache-Control": "no-store"}


def _respond(stored: StoredResponse, *, replayed: bool) -> JSONResponse:
    headers = {**NO_STORE, **({"Idempotent-Replayed": "true"} if replayed else {})}
    media = PROBLEM_JSON if stored.status >= 400 else "application/json"
    return JSONResponse(stored.body, status_code=stored.status, headers=headers, media_type=media)


def build_router(ctx: VtuberContext, payouts: Payouts) -> APIRouter:
    router = APIRouter(tags=["payouts"])
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    payouts_dep = Depends(provide(payouts))
    user = Depends(ctx.authenticator.user)
    admin = Depends(ctx.authenticator.roles("admin"))
    auditor = Depends(ctx.authenticator.roles("admin", "compliance"))
    required_key = Depends(idempotency_key())

    # --- a VTuber's statements (payout.read, admin, compliance) ------------------------------

    @router.get(
        "/api/v1/vtubers/{vtuber_id}/statements",
        response_model=StatementPage,
        responses={403: {"description": "forbidden"}, 404: {"description": "vtuber_not_found"}},
    )
    async def vtuber_statements(
        vtuber_id: VtuberId,
        response: Response,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        service: Payouts = payouts_dep,
        cursor: MonthCursor = None,
        limit: Limit = 24,
    ) -> StatementPage:
        """The VTuber's monthly statements, newest month first (payout.read)."""
        response.headers.update(NO_STORE)
        await service.views.authorize(session, vtuber_id, principal)
        return await service.views.of_vtuber(session, vtuber_id, cursor=cursor, limit=limit)

    @router.get(
        "/api/v1/vtubers/{vtuber_id}/statements/{month}",
        response_model=StatementDetail,
        responses={
            403: {"description": "forbidden"},
            404: {"description": "vtuber_not_found, statement_not_found"},
        },
    )
    async def vtuber_statement(
        vtuber_id: VtuberId,
        month: MonthPath,
        response: Response,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        service: Payouts = payouts_dep,
    ) -> StatementDetail:
        """One month's statement: gross, share, platform fee, carried debt, withholding (R2),
        net, input-tax deduction (R3) and the month per gacha (payout.read)."""
        response.headers.update(NO_STORE)
        await service.views.authorize(session, vtuber_id, principal)
        return await service.views.one(session, vtuber_id, month)

    # --- operators: statements, closing, reconciliation -------------------------------------

    @router.get("/api/v1/admin/statements", response_model=MonthStatements)
    async def month_statements(
        month: MonthQuery,
        response: Response,
        _principal: Principal = auditor,
        session: AsyncSession = session_dep,
        service: Payouts = payouts_dep,
    ) -> MonthStatements:
        """Every statement of a JST month with totals (admin, compliance)."""
        response.headers.update(NO_STORE)
        return await service.views.of_month(session, month)

    @router.post(
        "/api/v1/admin/statements/close",
        response_model=MonthClosing,
        responses={
            409: {
                "description": "month_not_ended, month_closed_out_of_order, "
                "month_closing_in_progress"
            }
        },
    )
    async def close_month(
        body: CloseMonth,
        principal: Principal = admin,
        session: AsyncSession = session_dep,
        service: Payouts = payouts_dep,
    ) -> MonthClosing:
        """Issue the statements of an ended JST month and post them to the yen ledger (admin).
        Closing again issues nothing twice."""
        return await service.close_month(session, body.month, principal.user_id)

    @router.get("/api/v1/admin/statements/reconciliation", response_model=Reconciliation)
    async def reconciliation(
        month: MonthQuery,
        response: Response,
        _principal: Principal = auditor,
        session: AsyncSession = session_dep,
        service: Payouts = payouts_dep,
    ) -> Reconciliation:
        """The month's statements against sales and the yen ledger (admin, compliance)."""
        response.headers.update(NO_STORE)
        return await service.views.reconciliation(session, month)

    @router.get(
        "/api/v1/admin/statements/medal-reconciliation",
        response_model=MedalReconciliation,
        responses={503: {"description": "dependency_unavailable: payment cannot be asked"}},
    )
    async def medal_reconciliation(
        month: MonthQuery,
        response: Response,
        _principal: Principal = auditor,
        session: AsyncSession = session_dep,
        service: Payouts = payouts_dep,
    ) -> MedalReconciliation:
        """The month's draws (sales facts) against the payment service's medal ledger: each
        draw's paid yen value against what the ledger posted (admin, compliance)."""
        response.headers.update(NO_STORE)
        return await medals.reconcile(session, service.sales, ctx.clients.payment, month)

    # --- operators: payout batches -----------------------------------------------------------

    @router.post(
        "/api/v1/admin/payouts/batches",
        status_code=201,
        response_model=BatchCreated,
        responses={
            409: {"description": "nothing_to_pay, idempotency_in_flight"},
            422: {"description": "transfer_date_invalid, idempotency_key_reused, validation"},
        },
    )
    async def create_batch(
        request: Request,
        body: BatchCreate,
        principal: Principal = admin,
        key: str = required_key,
        service: Payouts = payouts_dep,
    ) -> JSONResponse:
        """Gather the month's issued statements with a net payable into a batch (admin; needs an
        ``Idempotency-Key``). Statements whose bank details cannot be written are ``held``."""
        claimed = await service.keys.claim(
            scope=f"payout-batch:{principal.user_id}",
            key=key,
            fingerprint=await request_fingerprint(request),
        )
        if isinstance(claimed, StoredResponse):
            return _respond(claimed, replayed=True)
        try:
            stored = await service.batches.create_once(
                claimed,
                month=body.month,
                transfer_date=body.transfer_date,
                operator_id=principal.user_id,
            )
        except (DomainError, Problem):
            await service.keys.release(claimed, forget_recovery=True)
            raise
        except BaseException:
            await service.keys.release(claimed)
            raise
        return _respond(stored, replayed=False)

    @router.get("/api/v1/admin/payouts/batches", response_model=BatchList)
    async def list_batches(
        response: Response,
        _principal: Principal = auditor,
        session: AsyncSession = session_dep,
        service: Payouts = payouts_dep,
        month: OptionalMonth = None,
        limit: Limit = 50,
    ) -> BatchList:
        """Payout batches, newest first (admin, compliance)."""
        response.headers.update(NO_STORE)
        return await service.batches.listing(session, month=month, limit=limit)

    @router.get(
        "/api/v1/admin/payouts/batches/{batch_id}",
        response_model=BatchRead,
        responses={404: {"description": "payout_batch_not_found"}},
    )
    async def get_batch(
        batch_id: BatchId,
        response: Response,
        _principal: Principal = auditor,
        session: AsyncSession = session_dep,
        service: Payouts = payouts_dep,
    ) -> BatchRead:
        """One payout batch with its lines (admin, compliance)."""
        response.headers.update(NO_STORE)
        return await service.batches.get(session, batch_id)

    @router.get(
        "/api/v1/admin/payouts/batches/{batch_id}/zengin",
        response_class=Response,
        responses={
            200: {"description": "The 全銀 総合振込 file (Shift_JIS, 120-byte records, CRLF)"},
            404: {"description": "payout_batch_not_found"},
            422: {"description": "bank_details_invalid"},
        },
    )
    async def zengin_file(
        batch_id: BatchId,
        _principal: Principal = admin,
        session: AsyncSession = session_dep,
        service: Payouts = payouts_dep,
    ) -> Response:
        """The batch as a bank-transfer file to upload to the paying bank (admin)."""
        made = await service.batches.transfer_file(session, batch_id)
        return Response(
            made.content,
            media_type="text/plain; charset=Shift_JIS",
            headers={
                **NO_STORE,
                "Content-Disposition": f'attachment; filename="{made.filename}"',
            },
        )

    @router.post(
        "/api/v1/admin/payouts/batches/{batch_id}/paid",
        response_model=BatchRead,
        responses={404: {"description": "payout_batch_not_found"}},
    )
    async def mark_paid(
        batch_id: BatchId,
        principal: Principal = admin,
        session: AsyncSession = session_dep,
        service: Payouts = payouts_dep,
    ) -> BatchRead:
        """The bank carried the batch out: it and its statements are paid and the nets posted
        to the bank account (admin). Again: the same answer, nothing posted twice."""
        return await service.batches.mark_paid(session, batch_id, principal.user_id)

    return router
