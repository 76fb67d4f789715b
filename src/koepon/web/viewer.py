"""Who is looking at a page: their web session (if signed in), language and API client.

``viewer`` opens one per page request; ``signed_in`` and ``operator`` refuse anyone else (a
visitor is sent to the sign-in page, a fan without the role gets 403). ``checked_form`` guards
every form post against cross-site requests: the browser's own origin headers first, then the
CSRF token bound to the session (or, before sign-in, to a cookie of its own).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from koepon.web import i18n
from koepon.web.gateway_client import ApiProblem, GatewayClient
from koepon.web.sessions import SESSION_COOKIE, WebSession, WebSessions

CSRF_COOKIE = "koepon_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
REFRESH_MARGIN_SECONDS = 60
OPERATOR_ROLES = frozenset({"admin", "compliance", "support"})


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class SessionsUnavailable(Exception):
    """The web session store (the cache) cannot be reached: pages answer 503, nothing changes."""


class PageForbidden(Exception):
    """The visitor may not see this page (or a cross-site form post was refused)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass
class Viewer:
    request: Request
    sessions: WebSessions
    api: GatewayClient
    language: str
    session: WebSession | None = None
    anonymous_csrf: str | None = None
    _set_csrf_cookie: bool = False
    _cookies: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def csrf_token(self) -> str:
        if self.session is not None:
            return self.session.csrf
        if self.anonymous_csrf is None:
            self.anonymous_csrf = secrets.token_urlsafe(32)
            self._set_csrf_cookie = True
        return self.anonymous_csrf

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over https: when this request came so, or the platform's public URL
        is https (a proxy in front may speak plain http to us)."""
        public_https = bool(getattr(self.request.app.state, "web_public_https", False))
        return public_https or self.request.url.scheme == "https"

    @property
    def user_id(self) -> str | None:
        return self.session.user_id if self.session else None

    @property
    def is_operator(self) -> bool:
        return bool(self.session and OPERATOR_ROLES & set(self.session.roles))

    def has_role(self, *roles: str) -> bool:
        return bool(self.session and set(roles) & set(self.session.roles))

    def remember(self, name: str, value: str | None) -> None:
        """Set (or, with None, drop) a cookie on whatever answer this page gives."""
        self._cookies.append((name, value))

    def finish(self, response: Response) -> None:
        secure = self.secure_cookies
        if self._set_csrf_cookie and self.anonymous_csrf:
            response.set_cookie(
                CSRF_COOKIE, self.anonymous_csrf, httponly=True, secure=secure, samesite="strict"
            )
        for name, value in self._cookies:
            if value is None:
                response.delete_cookie(name, httponly=True, secure=secure, samesite="lax")
            else:
                response.set_cookie(
                    name,
                    value,
                    max_age=self.sessions.idle_seconds,
                    httponly=True,
                    secure=secure,
                    samesite="lax",
                )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def viewer(request: Request) -> AsyncIterator[Viewer]:
    sessions: WebSessions = request.app.state.web_sessions
    language = i18n.choose_language(
        request.cookies.get(i18n.LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
    i18n.use_language(language)
    try:
        session = await sessions.find(request.cookies.get(SESSION_COOKIE))
    except Exception as exc:  # Redis down: no page may guess who is signed in
        raise SessionsUnavailable from exc
    api = GatewayClient(request.app, client_ip=client_ip(request))
    seen = Viewer(
        request=request,
        sessions=sessions,
        api=api,
        language=language,
        anonymous_csrf=request.cookies.get(CSRF_COOKIE) or None,
    )
    try:
        if session is not None:
            seen.session = await _fresh(sessions, session, api)
            if seen.session is None:
                seen.remember(SESSION_COOKIE, None)
            else:
                api.access_token = seen.session.access_token
        yield seen
    finally:
        await api.aclose()


async def _fresh(
    sessions: WebSessions, session: WebSession, api: GatewayClient
) -> WebSession | None:
    """The session with an access token valid for a while yet (refreshed once if needed)."""
    if session.access_expires_at - time.time() > REFRESH_MARGIN_SECONDS:
        return session
    async with sessions.refresh_lock(session.sid):
        latest = await sessions.find(session.sid)
        if latest is None:
            return None
        if latest.access_expires_at - time.time() > REFRESH_MARGIN_SECONDS:
            return latest
        try:
            pair = await api.send(
                "POST", "/api/v1/auth/refresh", {"refresh_token": latest.refresh_token}
            )
        except ApiProblem as problem:
            if problem.status in (400, 401, 403, 422):
                await sessions.close(latest)
                return None
            raise
        latest.access_token = pair["access_token"]
        latest.refresh_token = pair["refresh_token"]
        latest.access_expires_at = time.time() + int(pair["expires_in"])
        await sessions.save(latest)
        return latest


async def signed_in(request: Request, seen: Viewer = Depends(viewer)) -> Viewer:
    if seen.session is None:
        raise LoginRequired(_here(request))
    return seen


async def operator(seen: Viewer = Depends(signed_in)) -> Viewer:
    if not seen.is_operator:
        raise PageForbidden("operators only")
    return seen


async def checked_form(request: Request, seen: Viewer = Depends(viewer)) -> Viewer:
    """Refuse a form post that another site made the browser send (CSRF)."""
    if not same_origin(request):
        raise PageForbidden("cross-site form post refused")
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    expected = seen.session.csrf if seen.session else seen.anonymous_csrf
    if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise PageForbidden("missing or wrong form token (CSRF)")
    return seen


def same_origin(request: Request) -> bool:
    """The browser says where a request comes from: refuse another site's (or a null) origin."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def _here(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def safe_next(value: str | None) -> str:
    """A local path to go back to after sign-in (never another site: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
