"""Access-token verification from the auth service's JWKS, done locally by every service.

Only EdDSA is accepted: ``alg=none``, HS256 (the classic public-key-as-HMAC-secret attack) and
anything else are refused before a key is even looked at.

The signing keys outlive an auth outage: keys that were valid stay valid until a fetch
succeeds (stale-if-error). Stale keys are served at once while a background task refetches
them with back-off; only a token signed by a key never seen, while the JWKS cannot be fetched,
is refused — with 503 and ``Retry-After``, since the token may well be good.

A verified token is remembered (by its SHA-256) for up to ``VERIFIED_SECONDS`` and never past
its ``exp``: a request crosses the gateway and then its service, each verifying the same token,
and a fan's client sends the same token for minutes. Signed-out sessions are refused by the
session check, which is not cached.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
import structlog
from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from koepon.kernel.problems import Problem, dependency_unavailable

log = structlog.get_logger(__name__)

ALGORITHM = "EdDSA"
VERIFIED_SECONDS = 30.0
VERIFIED_MAX = 4096
# Where the auth service keeps live sessions (session id → user id) in the shared cache; the
# gateway looks there so a signed-out token stops working everywhere, not only in auth.
SESSION_KEY_PREFIX = "auth:session:"
JwksSource = Callable[[], Awaitable[dict[str, Any]]]
# An unknown kid triggers a fetch at most this often, so garbage kids cannot flood the source.
UNKNOWN_KID_REFETCH_SECONDS = 10.0
# Back-off of the background refetch while the JWKS cannot be fetched.
REFETCH_BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified claims of an access token."""

    user_id: str
    roles: frozenset[str]
    session_id: str

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def signing_keys_unavailable() -> Problem:
    problem = dependency_unavailable("auth")
    problem.detail = (
        "Sign-in cannot be checked right now (the signing keys cannot be fetched); "
        "try again shortly"
    )
    return problem


def unauthenticated(detail: str) -> Problem:
    return Problem(
        401, "unauthenticated", detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


class TokenVerifier:
    """Verifies access tokens against a JWKS fetched from ``source`` and cached."""

    def __init__(
        self, source: JwksSource, *, issuer: str, audience: str, refresh_seconds: int = 300
    ) -> None:
        self._source = source
        self._issuer = issuer
        self._audience = audience
        self._refresh_seconds = refresh_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at = float("-inf")  # last attempt, successful or not
        self._last_failed = False
        self._lock = asyncio.Lock()
        self._refetch: asyncio.Task[None] | None = None
        # SHA-256 of a verified token → (its principal, until when it may be reused).
        self._verified: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()

    @property
    def keys_age_seconds(self) -> float | None:
        """How old the signing keys in use are (None before the first fetch)."""
        return None if self._fetched_at is None else time.monotonic() - self._fetched_at

    async def _fetch(self) -> bool:
        """Fetch the JWKS once (one fetch at a time); whether it succeeded."""
        async with self._lock:
            self._attempted_at = time.monotonic()
            try:
                jwks = await self._source()
                keys = {
                    k["kid"]: jwt.PyJWK.from_dict(k) for k in jwks.get("keys", []) if "kid" in k
                }
            except Exception as exc:
                self._last_failed = True
                log.warning("tokens.jwks_unavailable", error_type=type(exc).__name__)
                return False
            if keys.keys() != self._keys.keys():
                self._verified.clear()  # a withdrawn key takes its tokens with it at once
            self._keys = keys
            self._fetched_at = time.monotonic()
            self._last_failed = False
            return True

    def _refresh_in_background(self) -> None:
        if self._refetch is None or self._refetch.done():
            self._refetch = asyncio.create_task(self._refetch_until_fetched())

    async def _refetch_until_fetched(self) -> None:
        attempt = 0
        while not await self._fetch():
            await asyncio.sleep(
                REFETCH_BACKOFF_SECONDS[min(attempt, len(REFETCH_BACKOFF_SECONDS) - 1)]
            )
            attempt += 1

    async def _key(self, kid: str) -> jwt.PyJWK:
        now = time.monotonic()
        if kid in self._keys:
            assert self._fetched_at is not None
            if now - self._fetched_at > self._refresh_seconds:
                # Serve the known key now; a slow or failing auth service delays nobody.
                self._refresh_in_background()
            return self._keys[kid]
        # A kid never seen: a rotated key (fetch now) or garbage (fetch at most every 10 s).
        if now - self._attempted_at > UNKNOWN_KID_REFETCH_SECONDS:
            if not await self._fetch():
                self._refresh_in_background()
        elif self._lock.locked():
            # A fetch is under way (a restarted process's first requests arrive together):
            # its keys decide, not the empty set from before it (that was a 401 for all but one).
            async with self._lock:
                pass
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._last_failed:
            raise signing_keys_unavailable()
        raise unauthenticated("Access token signed by an unknown key")

    async def close(self) -> None:
        if self._refetch is not None:
            self._refetch.cancel()

    async def verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        now = time.time()
        remembered = self._verified.get(digest)
        if remembered is not None and now < remembered[1]:
            fetched = self._fetched_at
            if fetched is not None and time.monotonic() - fetched > self._refresh_seconds:
                self._refresh_in_background()  # as a verification would: keys refresh on use
            return remembered[0]
        principal, expires = await self._verify(token)
        self._verified[digest] = (principal, min(expires, now + VERIFIED_SECONDS))
        if len(self._verified) > VERIFIED_MAX:
            self._verified.popitem(last=False)  # the oldest first
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthenticated("Malformed access token") from exc
        if header.get("alg") != ALGORITHM:
            raise unauthenticated("Access token algorithm not accepted")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "iat", "sub", "sid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise unauthenticated("Access token expired") from exc
        except jwt.PyJWTError as exc:
            raise unauthenticated("Access token invalid") from exc
        if claims.get("typ") != "access":
            raise unauthenticated("Not an access token")
        principal = Principal(
            user_id=str(claims["sub"]),
            roles=frozenset(claims.get("roles", [])),
            session_id=str(claims["sid"]),
        )
        return principal, float(claims["exp"])


def session_key(session_id: str) -> str:
    return SESSION_KEY_PREFIX + session_id


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


# Only declares the Bearer scheme on the operations that take a token, so the OpenAPI document
# says which ones do; the token is read and checked by the dependencies below (auto_error off:
# a missing or malformed one is their 401 problem).
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="The access token of POST /api/v1/auth/login (EdDSA JWT)",
)


class Authenticator:
    """FastAPI dependencies that state who may call an endpoint."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    async def optional(
        self, request: Request, _scheme: HTTPAuthorizationCredentials | None = Security(BEARER)
    ) -> Principal | None:
        token = bearer_token(request)
        return await self.verifier.verify(token) if token else None

    async def user(
        self, request: Request, _scheme: HTTPAuthorizationCredentials | None = Security(BEARER)
    ) -> Principal:
        token = bearer_token(request)
        if token is None:
            raise unauthenticated("Sign in: a Bearer access token is required")
        return await self.verifier.verify(token)

    def roles(self, *allowed: str) -> Callable[..., Awaitable[Principal]]:
        async def dependency(
            request: Request, _scheme: HTTPAuthorizationCredentials | None = Security(BEARER)
        ) -> Principal:
            principal = await self.user(request)
            if not principal.has_any(*allowed):
                raise Problem(
                    403, "forbidden", f"This needs one of the roles: {', '.join(allowed)}"
                )
            return principal

        return dependency
