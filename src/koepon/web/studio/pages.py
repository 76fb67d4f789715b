"""The VTuber studio: the visitor's VTubers and invitations, the application to become one;
each VTuber's pages live in their modules (profile and team, contents, gachas, sales)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from koepon.kernel.routers import attach
from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.studio import contents, gachas, proposals, sales, team
from koepon.web.studio.access import (
    ItemId,
    done,
    field_errors,
    form_fields,
    refused,
    take_notice,
)
from koepon.web.viewer import Viewer, checked_form, signed_in

router = APIRouter(include_in_schema=False)
BANK_FIELDS = ("bank_code", "branch_code", "account_type", "account_number", "holder_kana")


@router.get("/studio")
async def studio_home(seen: Viewer = Depends(signed_in)) -> Response:
    return await _home(seen, values={}, errors={}, status=200)


async def _home(
    seen: Viewer, *, values: dict[str, str], errors: dict[str, list[str]], status: int
) -> Response:
    mine = await seen.api.get("/api/v1/me/vtubers")
    invitations = await seen.api.get("/api/v1/vtuber-invitations")
    context = {
        "mine": mine,
        "invitations": invitations,
        "values": values,
        "errors": errors,
        "notice": take_notice(seen),
    }
    return render(seen, "studio/home.html", context, status_code=status, personal=True)


@router.get("/studio/invitations")
async def invitations_page(seen: Viewer = Depends(signed_in)) -> Response:
    invitations = await seen.api.get("/api/v1/vtuber-invitations")
    context = {"invitations": invitations, "notice": take_notice(seen)}
    return render(seen, "studio/invitations.html", context, personal=True)


@router.post("/studio/invitations/{invitation_id}/accept")
async def accept(invitation_id: ItemId, seen: Viewer = Depends(checked_form)) -> Response:
    await signed_in(seen.request, seen)
    try:
        await seen.api.send("POST", f"/api/v1/vtuber-invitations/{invitation_id}/accept", {})
    except ApiProblem as problem:
        return refused(seen, "/studio/invitations", problem)
    return done(seen, "/studio", _("You joined the team."))


def application_body(values: dict[str, str]) -> dict[str, Any]:
    links = [line.strip() for line in values.get("channel_links", "").splitlines() if line.strip()]
    body: dict[str, Any] = {
        "display_name": values.get("display_name", ""),
        "bio": values.get("bio", ""),
        "avatar_url": values.get("avatar_url") or None,
        "channel_links": links,
        "entity_type": values.get("entity_type") or "individual",
        "legal_name": values.get("legal_name", ""),
        "bank": {name: values.get(name, "") for name in BANK_FIELDS},
    }
    if values.get("invoice_number"):
        body["invoice_number"] = values["invoice_number"]
        body["invoice_registered_on"] = values.get("invoice_registered_on") or None
    return body


@router.post("/studio/apply")
async def apply(seen: Viewer = Depends(checked_form)) -> Response:
    await signed_in(seen.request, seen)
    values = await form_fields(seen.request)
    values.pop("csrf_token", None)
    try:
        await seen.api.send("POST", "/api/v1/vtubers", application_body(values))
    except ApiProblem as problem:
        if problem.status in (409, 422):
            return await _home(seen, values=values, errors=field_errors(problem), status=422)
        raise
    return done(seen, "/studio", _("Your application was sent. An operator will review it."))


attach(router, team.router)
attach(router, contents.router)
attach(router, gachas.router)
attach(router, proposals.router)
attach(router, sales.router)
