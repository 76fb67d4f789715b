"""The wallet: balances, lots and their expiries, history, receipts, this month's totals against
the caps, self-set limits (COMPLIANCE A3) and cooling-off."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from starlette.responses import RedirectResponse, Response

from koepon.web.fan_account.forms import (
    history_labels,
    optional_int,
    problem_lines,
    signed_form,
    status_labels,
)
from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.viewer import Viewer, signed_in

router = APIRouter(include_in_schema=False)
COOLING_OFF_DAYS = (7, 30, 90)
Cap = Annotated[str, Form(max_length=12)]


async def wallet_context(seen: Viewer, cursor: str | None = None) -> dict[str, Any]:
    wallet = await seen.api.get("/api/v1/wallet")
    history = await seen.api.get("/api/v1/wallet/transactions", cursor=cursor, limit=20)
    limits = await seen.api.get("/api/v1/me/limits")
    receipts = await seen.api.get("/api/v1/receipts", limit=10)
    return {
        "wallet": wallet,
        "history": history,
        "limits": limits,
        "receipts": receipts,
        "cursor": cursor,
        "cooling_days": COOLING_OFF_DAYS,
        "types": history_labels(),
        "statuses": status_labels(),
    }


@router.get("/wallet")
async def wallet_page(
    cursor: str | None = None, saved: str | None = None, seen: Viewer = Depends(signed_in)
) -> Response:
    context = await wallet_context(seen, cursor)
    context["saved"] = saved
    return render(seen, "fan_account/wallet.html", context, personal=True)


@router.post("/wallet/limits")
async def set_limits(
    monthly_purchase_cap_jpy: Cap = "",
    monthly_draw_cap_medals: Cap = "",
    seen: Viewer = Depends(signed_form),
) -> Response:
    errors: list[str] = []
    try:
        body = {
            "monthly_purchase_cap_jpy": optional_int(monthly_purchase_cap_jpy),
            "monthly_draw_cap_medals": optional_int(monthly_draw_cap_medals),
        }
    except ValueError:
        errors = [_("Enter whole numbers, or leave a field empty for no limit.")]
    if not errors:
        try:
            await seen.api.send("PUT", "/api/v1/me/limits", body)
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status in (401, 403):
                raise
            errors = problem_lines(problem)
    if errors:
        context = await wallet_context(seen)
        context["limit_errors"] = errors
        return render(seen, "fan_account/wallet.html", context, status_code=422, personal=True)
    return RedirectResponse("/wallet?saved=limits#limits", status_code=303)


@router.get("/wallet/cooling-off")
async def cooling_off_page(days: int = 7, seen: Viewer = Depends(signed_in)) -> Response:
    chosen = days if days in COOLING_OFF_DAYS else COOLING_OFF_DAYS[0]
    context = {"days": chosen, "choices": COOLING_OFF_DAYS}
    return render(seen, "fan_account/cooling_off.html", context, personal=True)


@router.post("/wallet/cooling-off")
async def cooling_off(
    days: Annotated[int, Form()],
    confirm: Annotated[str | None, Form(max_length=10)] = None,
    seen: Viewer = Depends(signed_form),
) -> Response:
    if confirm != "yes" or days not in COOLING_OFF_DAYS:
        context = {
            "days": days if days in COOLING_OFF_DAYS else COOLING_OFF_DAYS[0],
            "choices": COOLING_OFF_DAYS,
            "errors": [_("Tick the box to confirm the pause.")],
        }
        return render(seen, "fan_account/cooling_off.html", context, status_code=422, personal=True)
    await seen.api.send("POST", "/api/v1/me/cooling-off", {"days": days})
    return RedirectResponse("/wallet?saved=cooling-off#limits", status_code=303)
