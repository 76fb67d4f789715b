"""Who gets in: no /internal from outside, /metrics for operators only, rate limits per IP and
per user, tokens checked."""

from __future__ import annotations

import hmac

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from koepon.contracts.auth import SessionRecords
from koepon.gateway.routing import is_internal, under
from koepon.gateway.sessions import LiveSessions, SessionCheckUnavailable
from koepon.kernel.cache import Cache
from koepon.kernel.problems import Problem, dependency_unavailable, problem_response
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.tokens import Principal, TokenVerifier, unauthenticated

log = structlog.get_logger(__name__)

# Probes come from the orchestrator, often many per second from one address.
UNMETERED_PATHS = frozenset({"/healthz", "/readyz"})
# Metrics tell traffic, errors and routes to whoever reads them: the Prometheus scraper (with
# the internal token) and operators (an admin's access token), nobody else.
METRICS_PATH = "/metrics"
METRICS_ROLES = frozenset({"admin"})
INTERNAL_HEADER = "x-koepon-internal"
API_PREFIX = "/api/v1"
# The auth endpoints read their own credentials: a client that still attaches a stale access
# token while refreshing or signing in must reach them instead of getting a 401 here.
TOKEN_EXEMPT_PREFIXES: tuple[str, ...] = ("/api/v1/auth",)


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def bearer(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def rate_limited(retry_after: int) -> Problem:
    return Problem(
        429,
        "rate_limited",
        f"Too many requests; retry after {retry_after} s",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


def sign_in_unavailable(dependency: str) -> Problem:
    """Tokens or sessions cannot be checked (auth or the cache unreachable): not the caller's
    fault, so the services' own 503 ``dependency_unavailable`` naming what is down, not 401."""
    problem = dependency_unavailable(dependency)
    problem.detail = f"Sign-in cannot be checked right now ({dependency} unavailable); try again"
    return problem


class AdmissionMiddleware:
    """Refuses at the edge what no service should spend work on.

    The per-IP limit comes first (cheapest, and it also meters forged tokens); a Bearer token on
    ``/api/v1`` is verified here so a bad one never reaches a service, and its user id keys the
    per-user limit. Services still verify tokens themselves: the gateway is not their only door.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        rate_limiter: RateLimiter,
        verifier: TokenVerifier,
        per_ip: str,
        per_user: str,
        sessions: Cache | None = None,
        session_owner: SessionRecords | None = None,
        internal_token: str | None = None,
    ) -> None:
        self.app = app
        # The cache's copy of sessions, and the auth service asked when the copy is missing.
        self.sessions = None if sessions is None else LiveSessions(sessions, session_owner)
        self.internal_token = internal_token
        self.rate_limiter = rate_limiter
        self.verifier = verifier
        self.per_ip = per_ip
        self.per_user = per_user

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        try:
            principal = await self._admit(scope, path)
        except Problem as problem:
            await problem_response(problem, path)(scope, receive, send)
            return
        if principal is not None:
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _admit(self, scope: Scope, path: str) -> Principal | None:
        if is_internal(path):
            raise Problem(404, "not_found", "Not Found")
        if path in UNMETERED_PATHS:
            return None
        headers = Headers(scope=scope)
        if path == METRICS_PATH:
            return await self._admit_to_metrics(scope, headers)
        await self._meter(self.per_ip, "gateway-ip", client_ip(scope))
        token = bearer(headers)
        if token is None or not under(path, API_PREFIX):
            return None
        if any(under(path, prefix) for prefix in TOKEN_EXEMPT_PREFIXES):
            return None
        return await self._signed_in(token)

    async def _admit_to_metrics(self, scope: Scope, headers: Headers) -> Principal | None:
        """The scraper shows the internal token (unmetered, like the probes); anyone else is
        metered per IP and must be an operator."""
        given = headers.get(INTERNAL_HEADER)
        if given is not None and self.internal_token:
            if hmac.compare_digest(given.encode(), self.internal_token.encode()):
                return None
        await self._meter(self.per_ip, "gateway-ip", client_ip(scope))
        if given is not None:
            raise Problem(403, "forbidden", "Metrics: wrong internal token")
        token = bearer(headers)
        if token is None:
            raise unauthenticated("Metrics are for operators: sign in as an admin")
        principal = await self._signed_in(token)
        if not principal.has_any(*METRICS_ROLES):
            raise Problem(403, "forbidden", "Metrics are for operators (role admin)")
        return principal

    async def _signed_in(self, token: str) -> Principal:
        try:
            principal = await self.verifier.verify(token)
        except Problem:
            raise
        except Exception as exc:
            # The JWKS could not be fetched (auth unreachable): not the caller's fault.
            log.warning("gateway.jwks_unavailable", error=repr(exc))
            raise sign_in_unavailable("auth") from exc
        await self._require_live_session(principal)
        await self._meter(self.per_user, "gateway-user", principal.user_id)
        return principal

    async def _require_live_session(self, principal: Principal) -> None:
        """A token of a signed-out session is refused here, not only by the auth service."""
        if self.sessions is None:
            return
        try:
            alive = await self.sessions.alive(principal.session_id, principal.user_id)
        except SessionCheckUnavailable as exc:
            raise sign_in_unavailable(exc.dependency) from exc
        if not alive:
            raise unauthenticated("This session has ended; sign in again")

    async def _meter(self, limit: str, *key: str) -> None:
        try:
            allowed, retry_after = await self.rate_limiter.hit(limit, *key)
        except Exception as exc:
            # A rate-limit store outage must not take the platform down with it.
            log.warning("gateway.rate_limit_unavailable", error=repr(exc))
            return
        if not allowed:
            raise rate_limited(retry_after)
