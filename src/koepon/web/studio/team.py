"""A VTuber's dashboard, profile, team (members, roles, invitations, the record of changes)
and the stream overlay URL."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.notices import describe
from koepon.web.rendering import render
from koepon.web.studio.access import (
    ItemId,
    VtuberId,
    done,
    field_errors,
    form_fields,
    may,
    member_who_may,
    membership,
    refused,
    take_notice,
)
from koepon.web.viewer import Viewer, checked_form, signed_in

router = APIRouter(include_in_schema=False)
ROLES = ("owner", "manager", "editor", "analyst")
UserId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]


@router.get("/studio/{vtuber_id}")
async def dashboard(vtuber_id: VtuberId, seen: Viewer = Depends(signed_in)) -> Response:
    member = await membership(seen, vtuber_id)
    context = {"vtuber_id": vtuber_id, "member": member, "notice": take_notice(seen)}
    return render(seen, "studio/dashboard.html", context, personal=True)


@router.get("/studio/{vtuber_id}/profile")
async def profile_page(vtuber_id: VtuberId, seen: Viewer = Depends(signed_in)) -> Response:
    member = await member_who_may(seen, vtuber_id, "profile.edit")
    profile = await profile_of(seen, vtuber_id)
    values = {
        "display_name": profile.get("display_name", ""),
        "bio": profile.get("bio", ""),
        "avatar_url": profile.get("avatar_url") or "",
        "channel_links": "\n".join(profile.get("channel_links") or []),
    }
    return _profile(seen, vtuber_id, member, profile, values, {}, 200)


async def profile_of(seen: Viewer, vtuber_id: str) -> dict[str, Any]:
    """The private profile (owner, co-owners, admins); a manager gets the public one."""
    try:
        return dict(await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/private"))
    except ApiProblem as problem:
        if problem.status != 403:
            raise
    return dict(await seen.api.get(f"/api/v1/vtubers/{vtuber_id}"))


def _profile(
    seen: Viewer,
    vtuber_id: str,
    member: dict[str, Any],
    profile: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, list[str]],
    status: int,
) -> Response:
    context = {
        "vtuber_id": vtuber_id,
        "member": member,
        "profile": profile,
        "values": values,
        "errors": errors,
        "notice": take_notice(seen),
    }
    return render(seen, "studio/profile.html", context, status_code=status, personal=True)


@router.post("/studio/{vtuber_id}/profile")
async def edit_profile(vtuber_id: VtuberId, seen: Viewer = Depends(checked_form)) -> Response:
    await signed_in(seen.request, seen)
    member = await membership(seen, vtuber_id)
    values = await form_fields(seen.request)
    links = [line.strip() for line in values.get("channel_links", "").splitlines() if line.strip()]
    body = {
        "display_name": values.get("display_name", ""),
        "bio": values.get("bio", ""),
        "avatar_url": values.get("avatar_url") or None,
        "channel_links": links,
    }
    to = f"/studio/{vtuber_id}/profile"
    try:
        await seen.api.send("PATCH", f"/api/v1/vtubers/{vtuber_id}", body)
    except ApiProblem as problem:
        if problem.status == 422:
            profile = await profile_of(seen, vtuber_id)
            errors = field_errors(problem)
            return _profile(seen, vtuber_id, member, profile, values, errors, 422)
        return refused(seen, to, problem)
    return done(seen, to, _("The profile is saved."))


@router.get("/studio/{vtuber_id}/team")
async def team_page(vtuber_id: VtuberId, seen: Viewer = Depends(signed_in)) -> Response:
    member = await membership(seen, vtuber_id)
    found = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/members")
    changes: list[dict[str, Any]] = []
    if may(member, "team.manage"):
        changes = (await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/changes", limit=30))["items"]
    context = {
        "vtuber_id": vtuber_id,
        "member": member,
        "team": found,
        "changes": changes,
        "roles": ROLES,
        "me": seen.user_id,
        "notice": take_notice(seen),
    }
    return render(seen, "studio/team.html", context, personal=True)


@router.post("/studio/{vtuber_id}/team/invite")
async def invite(vtuber_id: VtuberId, seen: Viewer = Depends(checked_form)) -> Response:
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    values = await form_fields(seen.request)
    to = f"/studio/{vtuber_id}/team"
    body = {"email": values.get("email", ""), "role": values.get("role", "")}
    try:
        await seen.api.send("POST", f"/api/v1/vtubers/{vtuber_id}/members", body)
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The invitation was sent by email."))


@router.post("/studio/{vtuber_id}/team/{user_id}/role")
async def change_role(
    vtuber_id: VtuberId, user_id: UserId, seen: Viewer = Depends(checked_form)
) -> Response:
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    values = await form_fields(seen.request)
    to = f"/studio/{vtuber_id}/team"
    try:
        await seen.api.send(
            "PATCH",
            f"/api/v1/vtubers/{vtuber_id}/members/{user_id}",
            {"role": values.get("role", "")},
        )
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The role is changed."))


@router.post("/studio/{vtuber_id}/team/{user_id}/remove")
async def remove(
    vtuber_id: VtuberId, user_id: UserId, seen: Viewer = Depends(checked_form)
) -> Response:
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    to = f"/studio/{vtuber_id}/team"
    try:
        await seen.api.send("DELETE", f"/api/v1/vtubers/{vtuber_id}/members/{user_id}")
    except ApiProblem as problem:
        return refused(seen, to, problem)
    if user_id == seen.user_id:
        return done(seen, "/studio", _("You left the team."))
    return done(seen, to, _("The member is removed."))


@router.post("/studio/{vtuber_id}/invitations/{invitation_id}/revoke")
async def revoke(
    vtuber_id: VtuberId, invitation_id: ItemId, seen: Viewer = Depends(checked_form)
) -> Response:
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    to = f"/studio/{vtuber_id}/team"
    try:
        await seen.api.send("DELETE", f"/api/v1/vtubers/{vtuber_id}/invitations/{invitation_id}")
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The invitation is withdrawn."))


@router.get("/studio/{vtuber_id}/overlay")
async def overlay_page(vtuber_id: VtuberId, seen: Viewer = Depends(signed_in)) -> Response:
    member = await member_who_may(seen, vtuber_id, "profile.edit")
    current = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/overlay")
    return _overlay(seen, vtuber_id, member, current, None, None)


def _overlay(
    seen: Viewer,
    vtuber_id: str,
    member: dict[str, Any],
    current: dict[str, Any],
    full_url: str | None,
    error: str | None,
) -> Response:
    context = {
        "vtuber_id": vtuber_id,
        "member": member,
        "current": current,
        "full_url": full_url,
        "error": error,
        "notice": take_notice(seen),
    }
    response = render(seen, "studio/overlay.html", context, personal=True)
    # The secret URL never leaves as a referrer (same-origin, not no-referrer: that would
    # make the browser send "Origin: null" on this page's own form, refused as cross-site).
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@router.post("/studio/{vtuber_id}/overlay/rotate")
async def rotate(vtuber_id: VtuberId, seen: Viewer = Depends(checked_form)) -> Response:
    """The new URL is shown in this answer only (never stored, never in a redirect)."""
    await signed_in(seen.request, seen)
    member = await membership(seen, vtuber_id)
    try:
        made = await seen.api.send("POST", f"/api/v1/vtubers/{vtuber_id}/overlay/rotate", {})
    except ApiProblem as problem:
        if problem.status == 401 or problem.status >= 500:
            raise
        current = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/overlay")
        return _overlay(seen, vtuber_id, member, current, None, describe(problem))
    base = str(seen.request.base_url).rstrip("/")
    full = f"{base}{made['url_path']}" if made.get("url_path") else None
    return _overlay(seen, vtuber_id, member, made, full, None)
