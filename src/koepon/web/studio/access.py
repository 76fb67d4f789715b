"""Who may open a VTuber's studio: the VTubers the visitor belongs to, as the API tells it,
and the one-time notice an action leaves for the page it returns to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request

from koepon.web.gateway_client import ApiProblem
from koepon.web.notices import Notices
from koepon.web.viewer import PageForbidden, Viewer

VtuberId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
ItemId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z-]+$")]
NOTICES = Notices("koepon_studio_notice")
done = NOTICES.done
refused = NOTICES.refused
take_notice = NOTICES.take


async def membership(seen: Viewer, vtuber_id: str) -> dict[str, Any]:
    """The visitor's standing in ``vtuber_id``'s team (role, permissions); 403 page if none.

    Every page also calls the API as the visitor, which refuses on its own: this only spares a
    stranger a half-drawn page."""
    for entry in await seen.api.get("/api/v1/me/vtubers"):
        if entry.get("vtuber_id") == vtuber_id:
            return dict(entry)
    raise PageForbidden("not in this VTuber's team")


def may(member: dict[str, Any], permission: str) -> bool:
    return permission in (member.get("permissions") or [])


async def member_who_may(seen: Viewer, vtuber_id: str, permission: str) -> dict[str, Any]:
    """The visitor's standing, if their role holds ``permission`` (else the 403 page)."""
    member = await membership(seen, vtuber_id)
    if not may(member, permission):
        raise PageForbidden(f"the role lacks {permission}")
    return member


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields, trimmed (files left out)."""
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


def field_errors(problem: ApiProblem) -> dict[str, list[str]]:
    """The API's 422 per form field (``loc`` names it); what names no field goes under ``""``."""
    found: dict[str, list[str]] = {}
    for error in problem.errors:
        loc = [str(part) for part in error.get("loc", []) if str(part) != "body"]
        name = loc[-1] if loc else ""
        if name.isdigit() and len(loc) > 1:
            name = loc[-2]
        found.setdefault(name, []).append(str(error.get("msg") or error.get("detail") or ""))
    if not found:
        found[""] = [f"{problem.detail} ({problem.code})"]
    return found
