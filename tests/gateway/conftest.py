"""A small stand-in service behind the gateway edge, and a key to sign access tokens with."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from koepon.gateway import install_gateway
from koepon.kernel.cache import cache_from_url
from koepon.kernel.health import health_router
from koepon.kernel.observability import RequestContextMiddleware
from koepon.kernel.problems import install_problem_handlers
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.runtime import Runtime
from koepon.kernel.settings import Settings
from koepon.kernel.tokens import Authenticator, Principal, TokenVerifier
from worker_share import redis_url

REDIS_URL = os.environ.get("KOEPON_TEST_REDIS_URL") or redis_url("platform")
ISSUER, AUDIENCE, KID = "koepon-auth", "koepon", "test-key"


@dataclass
class SigningKey:
    """Signs access tokens the way the auth service does; ``jwks`` is what it publishes."""

    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private.public_key()))
        return {"keys": [{**jwk, "kid": KID, "alg": "EdDSA", "use": "sig"}]}

    def token(self, user_id: str = "user-1", **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "sid": "session-1",
            "roles": ["fan"],
            "typ": "access",
            "iat": now,
            "exp": now + 900,
            **claims,
        }
        return jwt.encode(payload, self.private, algorithm="EdDSA", headers={"kid": KID})


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey()


@pytest.fixture
async def edge_settings(backend: str, tmp_path) -> AsyncIterator[Settings]:  # type: ignore[no-untyped-def]
    """Embedded: memory cache and limits. Distributed: Redis (flushed around the test)."""
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": tmp_path / "data",
        "internal_token": "test-internal-" + uuid.uuid4().hex,
        "rate_limit_per_ip": "100000/minute",
        "rate_limit_per_user": "100000/minute",
        "max_body_bytes": 1024,
        # The stand-in has no auth service keeping sessions; the platform tests cover them.
        "gateway_checks_sessions": False,
    }
    if backend == "embedded":
        yield Settings(**values)
        return
    redis = aioredis.Redis.from_url(REDIS_URL)
    await redis.flushdb()
    try:
        yield Settings(**values, redis_url=REDIS_URL)
    finally:
        await redis.flushdb()
        await redis.aclose()


class Note(BaseModel):
    text: str


@dataclass
class StandIn:
    """What the stand-in service did: its notes (state) and how often each route ran."""

    notes: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1


def stand_in_app(settings: Settings, signing_key: SigningKey, state: StandIn) -> FastAPI:
    """A service shaped like the real ones, behind the embedded gateway."""

    async def jwks() -> dict[str, Any]:
        return signing_key.jwks

    verifier = TokenVerifier(jwks, issuer=ISSUER, audience=AUDIENCE)
    runtime = Runtime(
        settings=settings,
        cache=cache_from_url(settings.redis_url),
        rate_limiter=RateLimiter(settings.redis_url),
        authenticator=Authenticator(verifier),
    )
    app = FastAPI(openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs")
    install_problem_handlers(app)
    app.include_router(health_router({}))

    @app.get("/api/v1/medal-packs")
    async def medal_packs() -> list[dict[str, int]]:
        state.count("medal-packs")
        return [{"price_jpy": 120, "paid_medals": 100, "packs_added": len(state.notes)}]

    @app.post("/api/v1/admin/medal-packs", status_code=201)
    async def add_pack(note: Note) -> dict[str, str]:
        if note.text == "refuse":
            from koepon.kernel.problems import Problem

            raise Problem(409, "conflict", "Refused")
        state.notes.append(note.text)
        return {"added": note.text}

    @app.get("/api/v1/medal-packs/broken")
    async def broken_pack() -> None:
        state.count("broken")
        from koepon.kernel.problems import Problem

        raise Problem(404, "not_found", "No such pack")

    @app.post("/api/v1/notes", status_code=201)
    async def add_note(note: Note) -> dict[str, int]:
        state.notes.append(note.text)
        return {"count": len(state.notes)}

    @app.get("/api/v1/whoami")
    async def whoami(principal: Principal = Depends(runtime.authenticator.user)) -> dict[str, str]:
        state.count("whoami")
        return {"user_id": principal.user_id}

    @app.get("/api/v1/auth/ping")
    async def auth_ping() -> dict[str, str]:
        return {"pong": "auth"}

    @app.get("/internal/ping")
    async def internal_ping() -> dict[str, str]:
        state.count("internal")
        return {"pong": "internal"}

    @app.get("/page")
    async def page() -> dict[str, str]:
        return {"page": "ok"}

    install_gateway(app, runtime)
    app.add_middleware(RequestContextMiddleware, service="gateway")
    return app


@dataclass
class Edge:
    """A stand-in service behind the embedded gateway, and clients to it."""

    app: FastAPI
    state: StandIn
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def from_ip(self, client_ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(client_ip, 50000))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.clients.append(http)
        return http

    def __iter__(self):  # type: ignore[no-untyped-def]
        """``http, state = edge()``: a client from the usual test address, and the state."""
        return iter((self.from_ip("203.0.113.7"), self.state))


@pytest.fixture
async def edge(
    edge_settings: Settings, signing_key: SigningKey
) -> AsyncIterator[Callable[..., Edge]]:
    """``edge(**settings_overrides)`` → an Edge (unpacks to a client and the stand-in's state)."""
    edges: list[Edge] = []

    def make(**overrides: Any) -> Edge:
        state = StandIn()
        settings = edge_settings.model_copy(update=overrides)
        built = Edge(stand_in_app(settings, signing_key, state), state)
        edges.append(built)
        return built

    yield make
    for built in edges:
        for http in built.clients:
            await http.aclose()
