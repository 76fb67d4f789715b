"""Gacha reviews: the queue with each configuration's checks and expected costs as the API
computes them, approve, reject with a reason, end; odds-change proposals; the rate audits.

Only admin and compliance review gachas (the API's rule): support sees the API's 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from koepon.web.admin.console import done, form_text, refused, take_notice
from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.viewer import Viewer, checked_form, operator

router = APIRouter(include_in_schema=False)

STATUSES = ("submitted", "approved", "rejected", "ended", "draft")
PROPOSAL_STATUSES = ("submitted", "approved", "rejected")
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Cursor = Annotated[str | None, Query(max_length=200)]
# The API has no single-gacha admin read: the detail page looks the gacha up in the queues.
PAGES_SEARCHED = 5


@router.get("/admin/gachas")
async def gacha_list(
    seen: Viewer = Depends(operator),
    status: Annotated[str, Query(max_length=20)] = "submitted",
    cursor: Cursor = None,
) -> Response:
    status = status if status in STATUSES else "submitted"
    page = await seen.api.get("/api/v1/admin/gachas", status=status, cursor=cursor, limit=20)
    return render(
        seen,
        "admin/gachas.html",
        {
            "status": status,
            "statuses": STATUSES,
            "items": page.get("items", []),
            "next_cursor": page.get("next_cursor"),
            "notice": take_notice(seen),
        },
        personal=True,
    )


async def _find(seen: Viewer, gacha_id: str) -> dict[str, Any] | None:
    for status in STATUSES:
        cursor = None
        for _page in range(PAGES_SEARCHED):
            page = await seen.api.get(
                "/api/v1/admin/gachas", status=status, cursor=cursor, limit=100
            )
            for item in page.get("items", []):
                if item.get("id") == gacha_id:
                    return dict(item)
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return None


@router.get("/admin/gachas/{gacha_id}")
async def gacha_detail(gacha_id: Id, seen: Viewer = Depends(operator)) -> Response:
    gacha = await _find(seen, gacha_id)
    if gacha is None:
        return render(seen, "not_found.html", status_code=404, personal=True)
    return render(
        seen,
        "admin/gacha.html",
        {"gacha": gacha, "notice": take_notice(seen)},
        personal=True,
    )


@router.post("/admin/gachas/{gacha_id}/approve")
async def approve(gacha_id: Id, seen: Viewer = Depends(checked_form)) -> Response:
    await operator(seen)
    to = f"/admin/gachas/{gacha_id}"
    try:
        await seen.api.send("POST", f"/api/v1/admin/gachas/{gacha_id}/approve", {})
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The gacha is approved and its odds are published."))


@router.get("/admin/gachas/{gacha_id}/audit")
async def audit(gacha_id: Id, seen: Viewer = Depends(operator)) -> Response:
    report = await seen.api.get(f"/api/v1/gachas/{gacha_id}/audit")
    return render(seen, "admin/audit.html", {"audit": report}, personal=True)


# Rejecting and ending ask for confirmation first (a rejection with its reason).
GACHA_DECISIONS = ("reject", "end")


@router.get("/admin/gachas/{gacha_id}/{decision}")
async def confirm(gacha_id: Id, decision: str, seen: Viewer = Depends(operator)) -> Response:
    if decision not in GACHA_DECISIONS:
        return render(seen, "not_found.html", status_code=404, personal=True)
    gacha = await _find(seen, gacha_id)
    if gacha is None:
        return render(seen, "not_found.html", status_code=404, personal=True)
    heading = _("Reject the gacha") if decision == "reject" else _("End the gacha now")
    return render(
        seen,
        "admin/confirm.html",
        {
            "heading": heading,
            "subject": gacha.get("title"),
            "action": f"/admin/gachas/{gacha_id}/{decision}",
            "field": "reason" if decision == "reject" else None,
            "field_label": _("Reason (shown to the VTuber's team)"),
            "back": f"/admin/gachas/{gacha_id}",
            "button": heading,
        },
        personal=True,
    )


@router.post("/admin/gachas/{gacha_id}/{decision}")
async def decide(gacha_id: Id, decision: str, seen: Viewer = Depends(checked_form)) -> Response:
    await operator(seen)
    if decision not in GACHA_DECISIONS:
        return render(seen, "not_found.html", status_code=404, personal=True)
    to = f"/admin/gachas/{gacha_id}"
    body: dict[str, str] = {}
    if decision == "reject":
        body["reason"] = await form_text(seen.request, "reason")
    try:
        await seen.api.send("POST", f"/api/v1/admin/gachas/{gacha_id}/{decision}", body)
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The gacha is rejected.") if body else _("The gacha has ended."))


@router.get("/admin/gacha-proposals")
async def proposal_list(
    seen: Viewer = Depends(operator),
    status: Annotated[str, Query(max_length=20)] = "submitted",
    cursor: Cursor = None,
) -> Response:
    status = status if status in PROPOSAL_STATUSES else "submitted"
    page = await seen.api.get(
        "/api/v1/admin/gacha-proposals", status=status, cursor=cursor, limit=20
    )
    return render(
        seen,
        "admin/proposals.html",
        {
            "status": status,
            "statuses": PROPOSAL_STATUSES,
            "items": page.get("items", []),
            "next_cursor": page.get("next_cursor"),
            "notice": take_notice(seen),
        },
        personal=True,
    )


@router.post("/admin/gacha-proposals/{proposal_id}/approve")
async def approve_proposal(proposal_id: Id, seen: Viewer = Depends(checked_form)) -> Response:
    await operator(seen)
    to = "/admin/gacha-proposals"
    try:
        await seen.api.send("POST", f"/api/v1/admin/gacha-proposals/{proposal_id}/approve", {})
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The odds change is approved and announced."))


@router.get("/admin/gacha-proposals/{proposal_id}/reject")
async def confirm_proposal(proposal_id: Id, seen: Viewer = Depends(operator)) -> Response:
    return render(
        seen,
        "admin/confirm.html",
        {
            "heading": _("Reject the odds change"),
            "subject": proposal_id,
            "action": f"/admin/gacha-proposals/{proposal_id}/reject",
            "field": "reason",
            "field_label": _("Reason (shown to the VTuber's team)"),
            "back": "/admin/gacha-proposals",
            "button": _("Reject the odds change"),
        },
        personal=True,
    )


@router.post("/admin/gacha-proposals/{proposal_id}/reject")
async def reject_proposal(proposal_id: Id, seen: Viewer = Depends(checked_form)) -> Response:
    await operator(seen)
    to = "/admin/gacha-proposals"
    reason = await form_text(seen.request, "reason")
    try:
        await seen.api.send(
            "POST", f"/api/v1/admin/gacha-proposals/{proposal_id}/reject", {"reason": reason}
        )
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The odds change is rejected."))
