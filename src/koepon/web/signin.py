"""Sign-in, sign-up, sign-out and the language switch: the forms that open a web session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.responses import RedirectResponse, Response

from koepon.web import i18n
from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.sessions import SESSION_COOKIE
from koepon.web.viewer import Viewer, checked_form, safe_next, viewer

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=254)]


@router.get("/login")
async def login_page(next: str = "/", seen: Viewer = Depends(viewer)) -> Response:
    if seen.session is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(seen, "signin/login.html", {"next": safe_next(next)}, personal=True)


@router.post("/login")
async def login(
    email: Text,
    password: Annotated[str, Form(max_length=128)],
    next: Annotated[str, Form(max_length=500)] = "/",
    seen: Viewer = Depends(checked_form),
) -> Response:
    try:
        pair = await seen.api.send(
            "POST", "/api/v1/auth/login", {"email": email, "password": password}
        )
    except ApiProblem as problem:
        message = (
            _("The email address or password is wrong.")
            if problem.status in (400, 401, 422)
            else _("Signing in is not possible right now. Please try again later.")
        )
        context = {"next": safe_next(next), "error": message, "email": email}
        return render(seen, "signin/login.html", context, status_code=problem.status, personal=True)
    return await open_session(seen, pair, safe_next(next))


async def open_session(seen: Viewer, pair: dict[str, object], next_path: str) -> Response:
    token = str(pair["access_token"])
    me = await seen.api.request("GET", "/api/v1/me", token=token)
    profile = me.json()
    session = await seen.sessions.open(
        user_id=str(profile["id"]),
        access_token=token,
        expires_in=int(str(pair["expires_in"])),
        refresh_token=str(pair["refresh_token"]),
        display_name=str(profile["display_name"]),
        roles=[str(role) for role in profile.get("roles", [])],
    )
    response = RedirectResponse(next_path, status_code=303)
    seen.remember(SESSION_COOKIE, session.sid)
    seen.finish(response)
    return response


@router.get("/signup")
async def signup_page(seen: Viewer = Depends(viewer)) -> Response:
    return render(seen, "signin/signup.html", {"values": {}}, personal=True)


@router.post("/signup")
async def signup(
    email: Text,
    password: Annotated[str, Form(max_length=128)],
    display_name: Annotated[str, Form(max_length=50)],
    birthdate: Annotated[str, Form(max_length=10)],
    agree: Annotated[str | None, Form(max_length=10)] = None,
    seen: Viewer = Depends(checked_form),
) -> Response:
    values = {"email": email, "display_name": display_name, "birthdate": birthdate}
    if agree != "yes":
        errors = [_("Please agree to the terms of use and the privacy policy.")]
        return render(
            seen,
            "signin/signup.html",
            {"values": values, "errors": errors},
            status_code=422,
            personal=True,
        )
    body = {
        "email": email,
        "password": password,
        "display_name": display_name,
        "birthdate": birthdate,
    }
    try:
        await seen.api.send("POST", "/api/v1/auth/signup", body)
        pair = await seen.api.send(
            "POST", "/api/v1/auth/login", {"email": email, "password": password}
        )
    except ApiProblem as problem:
        errors = [problem.detail] + [
            f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg', '')}"
            for e in problem.errors
        ]
        return render(
            seen,
            "signin/signup.html",
            {"values": values, "errors": errors},
            status_code=problem.status if problem.status < 500 else 503,
            personal=True,
        )
    return await open_session(seen, pair, "/?welcome=1")


@router.post("/logout")
async def logout(seen: Viewer = Depends(checked_form)) -> Response:
    if seen.session is not None:
        try:
            await seen.api.send(
                "POST", "/api/v1/auth/logout", {"refresh_token": seen.session.refresh_token}
            )
        except ApiProblem:
            pass  # the web session ends here whatever the auth service answers
        await seen.sessions.close(seen.session)
    response = RedirectResponse("/", status_code=303)
    seen.remember(SESSION_COOKIE, None)
    seen.finish(response)
    return response


@router.get("/lang/{language}")
async def switch_language(
    language: str,
    next: str = "/",
    seen: Viewer = Depends(viewer),
) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=seen.secure_cookies,
        )
    return response
