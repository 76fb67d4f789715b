"""What every admin page shares: the one-time notice after an action, the redirect back,
and how an API refusal of an action becomes that notice.

An action is a form post that calls one admin API as the operator and answers 303 back to the
page it came from. The API decides who may do what (only an admin sets a revenue share, only
admin and compliance decide reviews…): its 403, 409 or 422 is shown as a notice, never as a
crash. The notice travels in a short-lived HttpOnly cookie, so no text is ever read back from
the URL (a link cannot make the console show words of someone else's choosing).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import Request
from starlette.responses import RedirectResponse

from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.viewer import Viewer

NOTICE_COOKIE = "koepon_admin_notice"
MAX_NOTICE = 600


def done(seen: Viewer, to: str, message: str) -> RedirectResponse:
    """303 back to ``to`` with a success notice."""
    return _back(seen, to, "success", message)


def refused(seen: Viewer, to: str, problem: ApiProblem) -> RedirectResponse:
    """303 back to ``to`` with the API's refusal (401 still goes to sign-in)."""
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
    """The notice the last action left (shown once: the cookie is dropped)."""
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


async def form_text(request: Request, name: str) -> str:
    form = await request.form()
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def local_path(value: str | None, fallback: str) -> str:
    """A console path to return to (never another site)."""
    if value and value.startswith("/admin") and "//" not in value and "\\" not in value:
        return value
    return fallback
