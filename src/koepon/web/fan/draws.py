"""Paid draws: the final confirmation screen (COMPLIANCE P2), the draw itself (one draw per
confirmation screen, whatever the fan clicks twice), and the draw page with its 演出, driven by
the Socket.IO result and falling back to polling the result partial."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query
from starlette.responses import RedirectResponse, Response

from koepon.kernel.realtime_tickets import issue_ticket, user_room
from koepon.web import legal
from koepon.web.fan import odds
from koepon.web.fan.gachas import GachaId, vtuber_of
from koepon.web.fan.results import slots_of
from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.viewer import LoginRequired, Viewer, checked_form, signed_in

router = APIRouter(include_in_schema=False)

DrawId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Count = Annotated[int, Query(ge=1, le=10)]
# Refusals the confirmation screen explains (nothing was drawn); others become error pages.
SHOWN_REFUSALS = (402, 403, 404, 409, 422, 429, 503)
ENDED = frozenset({"refused", "voided", "failed"})


def price_of(gacha: dict[str, Any], count: int) -> dict[str, int] | None:
    """Medals and yen for ``count`` draws, as the gacha states them (None if not offered)."""
    if count == 1:
        return {"medals": int(gacha["price_medals"]), "jpy": int(gacha["price_jpy"])}
    multi = gacha.get("multi")
    if multi and int(multi["count"]) == count:
        return {"medals": int(multi["price_medals"]), "jpy": int(multi["price_jpy"])}
    return None


async def _confirmation(
    seen: Viewer,
    gacha_id: str,
    count: int,
    refusal: ApiProblem | None = None,
    show_on_stream: bool = False,
) -> dict[str, Any]:
    gacha = await seen.api.get(f"/api/v1/gachas/{gacha_id}")
    price = price_of(gacha, count)
    if price is None:
        raise ApiProblem(404, "invalid_count", _("This gacha has no draw of that size."), {})
    wallet = await seen.api.get("/api/v1/wallet")
    return {
        "gacha": gacha,
        "vtuber": await vtuber_of(seen, str(gacha["vtuber_id"])),
        "count": count,
        "price": price,
        "wallet": wallet,
        "balance": int(wallet["paid_medals"]) + int(wallet["free_medals"]),
        # One key per confirmation screen: a double submit (or a replay) draws once.
        "idempotency_key": uuid.uuid4().hex,
        "refusal": refusal,
        "show_on_stream": show_on_stream,
        "no_cancel_notice": gacha.get("no_cancellation_notice") or legal.NO_CANCEL_NOTICE,
    }


@router.get("/gachas/{gacha_id}/confirm")
async def confirm_page(
    gacha_id: GachaId, count: Count = 1, seen: Viewer = Depends(signed_in)
) -> Response:
    context = await _confirmation(seen, gacha_id, count)
    return render(seen, "fan/confirm.html", context, personal=True)


@router.post("/gachas/{gacha_id}/draws")
async def draw(
    gacha_id: GachaId,
    count: Annotated[int, Form(ge=1, le=10)],
    idempotency_key: Annotated[str, Form(min_length=16, max_length=64, pattern=r"^[0-9a-f]+$")],
    show_on_stream: Annotated[str | None, Form(max_length=8)] = None,
    seen: Viewer = Depends(checked_form),
) -> Response:
    if seen.session is None:
        raise LoginRequired(f"/gachas/{gacha_id}/confirm?count={count}")
    body: dict[str, Any] = {"count": count}
    if show_on_stream:
        body["show_on_stream"] = True
    try:
        made = await seen.api.send(
            "POST", f"/api/v1/gachas/{gacha_id}/draws", body, idempotency_key=idempotency_key
        )
    except ApiProblem as problem:
        if problem.status not in SHOWN_REFUSALS:
            raise
        context = await _confirmation(seen, gacha_id, count, problem, bool(show_on_stream))
        return render(seen, "fan/confirm.html", context, status_code=problem.status, personal=True)
    return RedirectResponse(f"/draws/{made['id']}", status_code=303)


async def _draw_context(seen: Viewer, draw_id: str) -> dict[str, Any]:
    made = await seen.api.get(f"/api/v1/draws/{draw_id}")
    gacha = await seen.api.get(f"/api/v1/gachas/{made['gacha_id']}")
    completed = made.get("status") == "completed"
    return {
        "draw": made,
        "gacha": gacha,
        "completed": completed,
        "ended": made.get("status") in ENDED,
        "slots": await slots_of(seen, made, odds.item_names(gacha)) if completed else [],
    }


@router.get("/draws/{draw_id}")
async def draw_page(draw_id: DrawId, seen: Viewer = Depends(signed_in)) -> Response:
    context = await _draw_context(seen, draw_id)
    cache = seen.request.app.state.web_sessions.cache
    context["ticket"] = await issue_ticket(cache, [user_room(str(seen.user_id))], 600)
    return render(seen, "fan/draw.html", context, personal=True)


@router.get("/draws/{draw_id}/result")
async def result_partial(draw_id: DrawId, seen: Viewer = Depends(signed_in)) -> Response:
    """The results once the draw completed (200), its refusal (200), else 202 "still drawing"."""
    context = await _draw_context(seen, draw_id)
    waiting = not context["completed"] and not context["ended"]
    return render(
        seen, "fan/_results.html", context, status_code=202 if waiting else 200, personal=True
    )
