"""Access-token verification from the auth service's JWKS, done locally by every service.

Only EdDSA is accepted: ``alg=none``, HS256 (the classic public-key-as-HMAC-secret attack) and
anything else are refused before a key is even looked at.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Request

from koepon.kernel.problems import Problem

ALGORITHM = "EdDSA"
# Where the auth service keeps live sessions (session id → user id) in the shared cache; the
# gateway looks there so a signed-out token stops working everywhere, not only in auth.
SESSION_KEY_PREFIX = "auth:session:"
JwksSource = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified claims of an access token."""

    user_id: str
    roles: frozenset[str]
    session_id: str

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


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
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _key(self, kid: str) -> jwt.PyJWK:
        stale = time.monotonic() - self._fetched_at > self._refresh_seconds
        # An unknown kid refreshes at most every 10 s, so garbage kids cannot flood the source.
        unknown = kid not in self._keys and time.monotonic() - self._fetched_at > 10
        if stale or unknown:
            async with self._lock:
                jwks = await self._source()
                self._keys = {
                    k["kid"]: jwt.PyJWK.from_dict(k) for k in jwks.get("keys", []) if "kid" in k
                }
                self._fetched_at = time.monotonic()
        key = self._keys.get(kid)
        if key is None:
            raise unauthenticated("Access token signed by an unknown key")
        return key

    async def verify(self, token: str) -> Principal:
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
        return Principal(
            user_id=str(claims["sub"]),
            roles=frozenset(claims.get("roles", [])),
            session_id=str(claims["sid"]),
        )


def session_key(session_id: str) -> str:
    return SESSION_KEY_PREFIX + session_id


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    """FastAPI dependencies that state who may call an endpoint."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    async def optional(self, request: Request) -> Principal | None:
        token = bearer_token(request)
        return await self.verifier.verify(token) if token else None

    async def user(self, request: Request) -> Principal:
        token = bearer_token(request)
        if token is None:
            raise unauthenticated("Sign in: a Bearer access token is required")
        return await self.verifier.verify(token)

    def roles(self, *allowed: str) -> Callable[[Request], Awaitable[Principal]]:
        async def dependency(request: Request) -> Principal:
            principal = await self.user(request)
            if not principal.has_any(*allowed):
                raise Problem(
                    403, "forbidden", f"This needs one of the roles: {', '.join(allowed)}"
                )
            return principal

        return dependency
