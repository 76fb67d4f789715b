"""Who may open a VTuber's studio: the VTubers the visitor belongs to, as the API tells it,
and the one-time notice an action leaves for the page it returns to."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import Path, Request
from starlette.responses import RedirectResponse

from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.viewer import PageForbidden, Viewer

VtuberId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
ItemId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z-]+$")]
NOTICE_COOKIE = "koepon_studio_notice"
MAX_NOTICE = 600


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


def done(seen: Viewer, to: str, message: str) -> RedirectResponse:
    return _back(seen, to, "success", message)


def refused(seen: Viewer, to: str, problem: ApiProblem) -> RedirectResponse:
    """Back to ``to`` with the API's refusal as a notice (401 and 5xx go to the error pages)."""
    if problem.status == 401 or problem.status >= 500:
        raise problem
    return _back(seen, to, "error", describe(problem))


def describe(problem: ApiProblem) -> str:
    if problem.status == 403:
        return _("Your role may not do this (the API refused: 403).")
    text = problem.detail
    if problem.errors:
        text += " — " + "; ".join(
            str(e.get("msg") or e.get("detail") or e) for e in problem.errors[:3]
        )
    return f"{text} ({problem.code})"


def _back(seen: Viewer, to: str, kind: str, message: str) -> RedirectResponse:
    payload = json.dumps({"kind": kind, "text": message[:MAX_NOTICE]}, ensure_ascii=False)
    seen.remember(NOTICE_COOKIE, base64.urlsafe_b64encode(payload.encode()).decode())
    response = RedirectResponse(to, status_code=303)
    seen.finish(response)
    return response


def take_notice(seen: Viewer) -> dict[str, str] | None:
    """The notice the last action left, shown once (the text never comes from the URL)."""
    raw = seen.request.cookies.get(NOTICE_COOKIE)
    if not raw:
        return None
    seen.remember(NOTICE_COOKIE, None)
    try:
        found: Any = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
    except ValueError:
        return None
    if not isinstance(found, dict) or found.get("kind") not in ("success", "error"):
        return None
    return {"kind": str(found["kind"]), "text": str(found.get("text", ""))[:MAX_NOTICE]}


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
