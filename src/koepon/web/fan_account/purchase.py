"""Buying medals: the packs, the final confirmation per pack (COMPLIANCE P2, with the M4
disclosures and the minors' notice), the checkout form, and the page the provider returns to."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from starlette.responses import RedirectResponse, Response

from koepon.web import legal
from koepon.web.fan_account.forms import SETTLED, signed_form, status_labels
from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.viewer import LoginRequired, Viewer, signed_in, viewer

router = APIRouter(include_in_schema=False)
OUTCOMES = ("success", "cancel")
# Refusals a fan can act on (caps A2/A3, cooling-off, a locked wallet, a retired pack).
SHOWN_REFUSALS = (400, 402, 403, 404, 409, 422)


def terms_of(seen: Viewer) -> legal.Operator:
    request = seen.request
    return legal.Operator.from_settings(legal.settings_of(request), legal.medal_terms_of(request))


@router.get("/wallet/buy")
async def packs_page(seen: Viewer = Depends(signed_in)) -> Response:
    packs = await seen.api.get("/api/v1/medal-packs")
    context = {"packs": packs, "operator": terms_of(seen), **_notices()}
    return render(seen, "fan_account/buy.html", context, personal=True)


async def _pack(seen: Viewer, pack_id: str) -> dict[str, Any] | None:
    packs = await seen.api.get("/api/v1/medal-packs")
    return next((p for p in packs if p["id"] == pack_id), None)


async def confirmation(
    seen: Viewer, pack: dict[str, Any], refusal: ApiProblem | None = None
) -> dict[str, Any]:
    wallet = await seen.api.get("/api/v1/wallet")
    return {
        "pack": pack,
        "wallet": wallet,
        "operator": terms_of(seen),
        # One key per confirmation screen: a double submit makes one checkout, not two.
        "idempotency_key": uuid.uuid4().hex,
        "refusal": refusal,
        **_notices(),
    }


def _notices() -> dict[str, str]:
    return {"no_cancel_notice": legal.NO_CANCEL_NOTICE, "minors_notice": legal.MINORS_NOTICE}


@router.get("/wallet/buy/{pack_id}")
async def confirm_page(pack_id: str, seen: Viewer = Depends(signed_in)) -> Response:
    pack = await _pack(seen, pack_id)
    if pack is None:
        raise ApiProblem(404, "pack_not_found", _("No such medal pack."), {})
    context = await confirmation(seen, pack)
    return render(seen, "fan_account/confirm.html", context, personal=True)


@router.post("/wallet/checkouts")
async def start_checkout(
    pack_id: Annotated[str, Form(max_length=64)],
    idempotency_key: Annotated[str, Form(min_length=16, max_length=64)],
    seen: Viewer = Depends(signed_form),
) -> Response:
    try:
        checkout = await seen.api.send(
            "POST",
            "/api/v1/checkouts",
            {"pack_id": pack_id, "provider": "sandbox"},
            idempotency_key=idempotency_key,
        )
    except ApiProblem as problem:
        if problem.status not in SHOWN_REFUSALS:
            raise
        pack = await _pack(seen, pack_id)
        if pack is None:
            raise
        context = await confirmation(seen, pack, refusal=problem)
        return render(
            seen, "fan_account/confirm.html", context, status_code=problem.status, personal=True
        )
    target = checkout.get("redirect_url") or f"/checkouts/{checkout['id']}/cancel"
    return RedirectResponse(target, status_code=303)


@router.get("/checkouts/{checkout_id}/status")
async def checkout_status(checkout_id: str, seen: Viewer = Depends(signed_in)) -> Response:
    """The status box alone: HTMX swaps it in every 2 s until the checkout settles."""
    checkout = await seen.api.get(f"/api/v1/checkouts/{checkout_id}")
    context = {
        "checkout": checkout,
        "settled": checkout["status"] in SETTLED,
        "statuses": status_labels(),
    }
    return render(seen, "fan_account/_checkout_status.html", context, personal=True)


@router.get("/checkouts/{checkout_id}/{outcome}")
async def return_page(checkout_id: str, outcome: str, seen: Viewer = Depends(viewer)) -> Response:
    if outcome not in OUTCOMES:
        raise ApiProblem(404, "not_found", _("This page does not exist or is not public."), {})
    if seen.session is None:
        raise LoginRequired(seen.request.url.path)
    checkout = await seen.api.get(f"/api/v1/checkouts/{checkout_id}")
    context = {
        "checkout": checkout,
        "outcome": outcome,
        "settled": checkout["status"] in SETTLED,
        "statuses": status_labels(),
    }
    return render(seen, "checkout_return.html", context, personal=True)
