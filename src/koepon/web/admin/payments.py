"""Payments (list, detail, refund after a confirmation with its legal ground, COMPLIANCE M5),
the base-date report (M3) and, read-only, the monthly statements and payout batches."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from koepon.web.admin.console import done, form_text, refused, take_notice
from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.viewer import Viewer, checked_form, operator

router = APIRouter(include_in_schema=False)

PAYMENT_STATUSES = (
    "",
    "creating",
    "open",
    "pending",
    "succeeded",
    "failed",
    "expired",
    "cancelled",
    "refunded",
    "charged_back",
)
CheckoutId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
MONTH = re.compile(r"^\d{4}-\d{2}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@router.get("/admin/payments")
async def payment_list(
    seen: Viewer = Depends(operator),
    status: Annotated[str, Query(max_length=20)] = "",
    user_id: Annotated[str, Query(max_length=64)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    status = status if status in PAYMENT_STATUSES else ""
    page = await seen.api.get(
        "/api/v1/admin/payments",
        status=status or None,
        user_id=user_id.strip() or None,
        cursor=cursor,
        limit=50,
    )
    return render(
        seen,
        "admin/payments.html",
        {
            "status": status,
            "statuses": PAYMENT_STATUSES,
            "user_id": user_id,
            "items": page.get("items", []),
            "next_cursor": page.get("next_cursor"),
            "notice": take_notice(seen),
        },
        personal=True,
    )


@router.get("/admin/payments/{checkout_id}")
async def payment_detail(checkout_id: CheckoutId, seen: Viewer = Depends(operator)) -> Response:
    payment = await seen.api.get(f"/api/v1/admin/payments/{checkout_id}")
    return render(
        seen,
        "admin/payment.html",
        {"payment": payment, "notice": take_notice(seen)},
        personal=True,
    )


@router.get("/admin/payments/{checkout_id}/refund")
async def confirm_refund(checkout_id: CheckoutId, seen: Viewer = Depends(operator)) -> Response:
    payment = await seen.api.get(f"/api/v1/admin/payments/{checkout_id}")
    return render(
        seen,
        "admin/confirm.html",
        {
            "heading": _("Refund this payment"),
            "subject": f"{payment.get('pack_name', '')} — {payment.get('price_label', '')}",
            "action": f"/admin/payments/{checkout_id}/refund",
            "field": "legal_ground",
            "field_label": _("Legal ground for the refund (kept in the record)"),
            "back": f"/admin/payments/{checkout_id}",
            "button": _("Refund"),
        },
        personal=True,
    )


@router.post("/admin/payments/{checkout_id}/refund")
async def refund(checkout_id: CheckoutId, seen: Viewer = Depends(checked_form)) -> Response:
    await operator(seen)
    to = f"/admin/payments/{checkout_id}"
    ground = await form_text(seen.request, "legal_ground")
    try:
        await seen.api.send(
            "POST", f"/api/v1/admin/payments/{checkout_id}/refund", {"legal_ground": ground}
        )
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The refund is sent to the payment provider."))


@router.get("/admin/reports")
async def base_date_report(
    seen: Viewer = Depends(operator),
    base_date: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    report = None
    problem_text = None
    if DAY.match(base_date):
        try:
            report = await seen.api.get(
                "/api/v1/admin/reports/prepaid-balance", base_date=base_date
            )
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            problem_text = problem.detail
    return render(
        seen,
        "admin/reports.html",
        {"base_date": base_date, "report": report, "problem": problem_text},
        personal=True,
    )


@router.get("/admin/statements")
async def statements(
    seen: Viewer = Depends(operator),
    month: Annotated[str, Query(max_length=7)] = "",
) -> Response:
    found = None
    batches = None
    if MONTH.match(month):
        found = await seen.api.get("/api/v1/admin/statements", month=month)
        batches = await seen.api.get("/api/v1/admin/payouts/batches", month=month)
    return render(
        seen,
        "admin/statements.html",
        {"month": month, "statements": found, "batches": batches},
        personal=True,
    )
