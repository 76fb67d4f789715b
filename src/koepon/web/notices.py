"""The one-time notice an action leaves for the page it returns to.

An action is a form post that calls one API as the visitor and answers 303 back to the page it
came from. The API decides who may do what: its 403, 409 or 422 becomes a notice on that page,
never a crash (401 and 5xx still go to the sign-in and error pages). The notice travels in a
short-lived HttpOnly cookie, so no text is ever read back from the URL (a link cannot make a page
show words of someone else's choosing). Each area keeps its own cookie.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from starlette.responses import RedirectResponse

from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.viewer import Viewer

MAX_NOTICE = 600
Kind = Literal["success", "error"]


def describe(problem: ApiProblem) -> str:
    """An API refusal in one line: its detail, the first field errors and its code."""
    if problem.status == 403:
        return _("Your role may not do this (the API refused: 403).")
    text = problem.detail
    if problem.errors:
        text += " — " + "; ".join(
            str(e.get("msg") or e.get("detail") or e) for e in problem.errors[:3]
        )
    return f"{text} ({problem.code})"


class Notices:
    """The notices of one area of the site, kept in the cookie ``cookie``."""

    def __init__(self, cookie: str) -> None:
        self.cookie = cookie

    def done(self, seen: Viewer, to: str, message: str) -> RedirectResponse:
        """303 back to ``to`` with a success notice."""
        return self._back(seen, to, "success", message)

    def refused(self, seen: Viewer, to: str, problem: ApiProblem) -> RedirectResponse:
        """303 back to ``to`` with the API's refusal (401 and 5xx raise to the error pages)."""
        if problem.status == 401 or problem.status >= 500:
            raise problem
        return self._back(seen, to, "error", describe(problem))

    def take(self, seen: Viewer) -> dict[str, str] | None:
        """The notice the last action left, shown once (the cookie is dropped)."""
        raw = seen.request.cookies.get(self.cookie)
        if not raw:
            return None
        seen.remember(self.cookie, None)
        try:
            found: Any = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
        except ValueError:
            return None
        if not isinstance(found, dict) or found.get("kind") not in ("success", "error"):
            return None
        return {"kind": str(found["kind"]), "text": str(found.get("text", ""))[:MAX_NOTICE]}

    def _back(self, seen: Viewer, to: str, kind: Kind, message: str) -> RedirectResponse:
        payload = json.dumps({"kind": kind, "text": message[:MAX_NOTICE]}, ensure_ascii=False)
        seen.remember(self.cookie, base64.urlsafe_b64encode(payload.encode()).decode())
        response = RedirectResponse(to, status_code=303)
        seen.finish(response)
        return response
