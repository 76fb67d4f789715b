"""VTuber reviews: the applications by status; approve, reject or suspend with a reason,
reinstate, and the revenue share (the API lets only an admin set it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from koepon.web.admin.console import done, form_text, refused, take_notice
from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.viewer import Viewer, checked_form, operator

router = APIRouter(include_in_schema=False)

STATUSES = ("pending", "approved", "rejected", "suspended")
VtuberId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/admin/vtubers")
async def vtuber_list(
    seen: Viewer = Depends(operator),
    status: Annotated[str, Query(max_length=20)] = "pending",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    status = status if status in STATUSES else "pending"
    page = await seen.api.get("/api/v1/admin/vtubers", status=status, cursor=cursor, limit=50)
    return render(
        seen,
        "admin/vtubers.html",
        {
            "status": status,
            "statuses": STATUSES,
            "items": page.get("items", []),
            "next_cursor": page.get("next_cursor"),
            "notice": take_notice(seen),
            "may_set_share": seen.has_role("admin"),
        },
        personal=True,
    )


def _back(status: str | None) -> str:
    return f"/admin/vtubers?status={status}" if status in STATUSES else "/admin/vtubers"


@router.post("/admin/vtubers/{vtuber_id}/approve")
async def approve(vtuber_id: VtuberId, seen: Viewer = Depends(checked_form)) -> Response:
    await operator(seen)
    to = _back(await form_text(seen.request, "status"))
    try:
        await seen.api.send("POST", f"/api/v1/admin/vtubers/{vtuber_id}/approve", {})
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The VTuber is approved."))


@router.post("/admin/vtubers/{vtuber_id}/revenue-share")
async def revenue_share(vtuber_id: VtuberId, seen: Viewer = Depends(checked_form)) -> Response:
    await operator(seen)
    to = _back("approved")
    raw = await form_text(seen.request, "share_percent")
    try:
        share_bp = round(float(raw) * 100)
    except (ValueError, OverflowError):
        share_bp = -1
    try:
        await seen.api.send(
            "PUT", f"/api/v1/admin/vtubers/{vtuber_id}/revenue-share", {"share_bp": share_bp}
        )
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The revenue share is saved."))


# Rejecting and suspending take a reason and a confirmation page first.
DECISIONS = {"reject": "pending", "suspend": "approved"}


@router.get("/admin/vtubers/{vtuber_id}/{decision}")
async def confirm(vtuber_id: VtuberId, decision: str, seen: Viewer = Depends(operator)) -> Response:
    if decision not in DECISIONS:
        return render(seen, "not_found.html", status_code=404, personal=True)
    name = None
    try:
        profile = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/private")
        name = profile.get("display_name")
    except ApiProblem as problem:
        if problem.status not in (403, 404):
            raise
    title = _("Reject the application") if decision == "reject" else _("Suspend the VTuber")
    return render(
        seen,
        "admin/confirm.html",
        {
            "heading": title,
            "subject": name or vtuber_id,
            "action": f"/admin/vtubers/{vtuber_id}/{decision}",
            "field": "reason",
            "field_label": _("Reason (shown to the VTuber and kept in the record)"),
            "back": _back(DECISIONS[decision]),
            "button": title,
        },
        personal=True,
    )


@router.post("/admin/vtubers/{vtuber_id}/{decision}")
async def decide(
    vtuber_id: VtuberId, decision: str, seen: Viewer = Depends(checked_form)
) -> Response:
    await operator(seen)
    if decision not in DECISIONS:
        return render(seen, "not_found.html", status_code=404, personal=True)
    to = _back(DECISIONS[decision])
    reason = await form_text(seen.request, "reason")
    try:
        await seen.api.send(
            "POST", f"/api/v1/admin/vtubers/{vtuber_id}/{decision}", {"reason": reason}
        )
    except ApiProblem as problem:
        return refused(seen, to, problem)
    message = _("The application is rejected.") if decision == "reject" else _("Suspended.")
    return done(seen, to, message)
