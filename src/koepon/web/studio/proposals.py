"""Odds-change proposals for a scheduled or live gacha (G4): the list with each proposal's
checks, a new proposal (the configuration as JSON, a change note, when it should apply) and
submission for review."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends
from starlette.responses import Response

from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.studio import config_form, rules
from koepon.web.studio.access import (
    ItemId,
    VtuberId,
    done,
    form_fields,
    membership,
    refused,
    take_notice,
)
from koepon.web.studio.gachas import find_gacha
from koepon.web.viewer import Viewer, checked_form, signed_in

router = APIRouter(include_in_schema=False)


@router.get("/studio/{vtuber_id}/gachas/{gacha_id}/proposals")
async def proposals_page(
    vtuber_id: VtuberId, gacha_id: ItemId, seen: Viewer = Depends(signed_in)
) -> Response:
    member = await membership(seen, vtuber_id)
    gacha = await find_gacha(seen, vtuber_id, gacha_id)
    if gacha is None:
        return render(seen, "not_found.html", status_code=404, personal=True)
    page = await seen.api.get(f"/api/v1/gachas/{gacha_id}/proposals", limit=20)
    items = [
        dict(p, checks=[dict(c, words=rules.explain(c["rule"])) for c in p.get("checks", [])])
        for p in page.get("items", [])
    ]
    effective = datetime.now(UTC) + timedelta(days=2)
    context = {
        "vtuber_id": vtuber_id,
        "member": member,
        "gacha": gacha,
        "items": items,
        "config_text": json.dumps(gacha.get("config") or {}, ensure_ascii=False, indent=2),
        "effective_at": config_form.local(effective.isoformat()),
        "notice": take_notice(seen),
    }
    return render(seen, "studio/proposals.html", context, personal=True)


@router.post("/studio/{vtuber_id}/gachas/{gacha_id}/proposals")
async def propose(
    vtuber_id: VtuberId, gacha_id: ItemId, seen: Viewer = Depends(checked_form)
) -> Response:
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    values = await form_fields(seen.request)
    to = f"/studio/{vtuber_id}/gachas/{gacha_id}/proposals"
    try:
        config = json.loads(values.get("config", ""))
    except ValueError:
        return refused(seen, to, ApiProblem(422, "schema", _("The configuration is not JSON."), {}))
    body = {
        "config": config,
        "change_note": values.get("change_note", ""),
        "effective_at": config_form.moment(values.get("effective_at")),
    }
    try:
        await seen.api.send("POST", f"/api/v1/gachas/{gacha_id}/proposals", body)
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The proposal is saved as a draft."))


@router.post("/studio/{vtuber_id}/gachas/{gacha_id}/proposals/{proposal_id}/submit")
async def submit_proposal(
    vtuber_id: VtuberId,
    gacha_id: ItemId,
    proposal_id: ItemId,
    seen: Viewer = Depends(checked_form),
) -> Response:
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    to = f"/studio/{vtuber_id}/gachas/{gacha_id}/proposals"
    try:
        await seen.api.send("POST", f"/api/v1/gachas/{gacha_id}/proposals/{proposal_id}/submit")
    except ApiProblem as problem:
        if problem.status == 422 and rules.explain(problem.code):
            problem.detail = f"{problem.detail} — {problem.code}: {rules.explain(problem.code)}"
        return refused(seen, to, problem)
    return done(seen, to, _("The proposal is submitted for review."))
