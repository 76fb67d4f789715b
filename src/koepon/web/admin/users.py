"""Users: look an account up by its id (the API has no search yet), support's recorded
change of a birth date, and suspending or reinstating the account with a recorded reason.
The birth date itself is never shown (COMPLIANCE R5): the API answers the age bracket only,
and the form never echoes what was typed."""

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

ID_PATTERN = r"^[A-Za-z0-9_-]+$"
UserId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


@router.get("/admin/users")
async def user_lookup(
    seen: Viewer = Depends(operator),
    user_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    user: dict[str, Any] | None = None
    missing = False
    wanted = (user_id or "").strip()
    if wanted:
        try:
            user = await seen.api.get(f"/api/v1/admin/users/{_clean(wanted)}")
        except ApiProblem as problem:
            if problem.status not in (404, 422):
                raise
            missing = True
    return render(
        seen,
        "admin/users.html",
        {"user_id": wanted, "user": user, "missing": missing, "notice": take_notice(seen)},
        personal=True,
    )


def _clean(value: str) -> str:
    """An id as a path segment: anything else looks up nothing (the API answers 404)."""
    return "".join(c for c in value if c.isalnum() or c in "-_")[:64] or "-"


@router.post("/admin/users/{user_id}/birthdate")
async def change_birthdate(user_id: UserId, seen: Viewer = Depends(checked_form)) -> Response:
    await operator(seen)
    to = f"/admin/users?user_id={user_id}"
    body = {
        "birthdate": await form_text(seen.request, "birthdate"),
        "reason": await form_text(seen.request, "reason"),
    }
    try:
        await seen.api.send("PUT", f"/api/v1/admin/users/{user_id}/birthdate", body)
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The birth date is changed and the change is recorded."))


@router.post("/admin/users/{user_id}/suspend")
async def suspend(user_id: UserId, seen: Viewer = Depends(checked_form)) -> Response:
    await operator(seen)
    message = _("The account is suspended: it is signed out and cannot sign in.")
    return await _suspension(seen, user_id, "suspend", message)


@router.post("/admin/users/{user_id}/reinstate")
async def reinstate(user_id: UserId, seen: Viewer = Depends(checked_form)) -> Response:
    await operator(seen)
    return await _suspension(seen, user_id, "reinstate", _("The account can sign in again."))


async def _suspension(seen: Viewer, user_id: str, action: str, message: str) -> Response:
    """The API decides who may (support cannot suspend staff, nobody themselves)."""
    to = f"/admin/users?user_id={user_id}"
    body = {"reason": await form_text(seen.request, "reason")}
    try:
        await seen.api.send("POST", f"/api/v1/admin/users/{user_id}/{action}", body)
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, message)
