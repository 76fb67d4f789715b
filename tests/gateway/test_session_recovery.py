"""Sessions outlive the cache's copy of them: after Redis loses its data the gateway asks the
auth service (once per session, however many requests wait), refuses ended sessions from a short
memory, and answers 503 (never 401) while auth cannot be asked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from starlette.types import Receive, Scope, Send

from auth.conftest import FAST_HASHER, AuthHarness, client_at
from koepon.app import Platform, create_app
from koepon.auth.client import HttpAuthClient
from koepon.auth.passwords import Passwords
from koepon.auth.sessions import MIRRORED_ON_MISS_SECONDS
from koepon.gateway.admission import AdmissionMiddleware
from koepon.gateway.sessions import LiveSessions, SessionCheckUnavailable
from koepon.kernel.cache.memory import MemoryCache
from koepon.kernel.tokens import Principal, session_key

FAN = Principal(user_id="fan-1", roles=frozenset({"fan"}), session_id="session-1")


async def lose_cache(platform: Platform) -> None:
    """What a Redis restart without persistence does: every key gone."""
    cache: Any = platform.cache
    if isinstance(cache, MemoryCache):
        cache._data.clear()
    else:
        await cache.client.flushdb()


@pytest.fixture
async def fans(client: httpx.AsyncClient, platform: Platform) -> AsyncIterator[AuthHarness]:
    """Sign-up and sign-in through the public API (the auth tests' harness)."""
    async with client_at(platform, "127.0.0.1") as local:
        harness = AuthHarness(client=client, platform=platform, local=local)
        harness.service.passwords = Passwords(FAST_HASHER)
        yield harness


async def seconds_left(platform: Platform, key: str) -> float:
    cache: Any = platform.cache
    if isinstance(cache, MemoryCache):
        expires = cache._data[key][1]
        assert expires is not None
        return expires - time.monotonic()
    return float(await cache.client.ttl(key))


def session_id_of(access_token: str) -> str:
    return str(jwt.decode(access_token, options={"verify_signature": False})["sid"])


# Through the whole platform (the gateway in front of the services), on both backends.


async def test_tokens_of_live_sessions_work_after_the_cache_lost_everything(
    fans: AuthHarness, platform: Platform
) -> None:
    account = await fans.account()
    await lose_cache(platform)

    me = await fans.client.get("/api/v1/me", headers=account.headers)
    assert me.status_code == 200, me.text
    sid = session_id_of(account.access_token)
    # Auth put its copy back while answering: the next request needs nobody but the cache.
    assert await platform.cache.get(session_key(sid)) == account.id.encode()
    # Copied for a few minutes only: a sign-out committing meanwhile is not copied back for long.
    assert 0 < await seconds_left(platform, session_key(sid)) <= MIRRORED_ON_MISS_SECONDS

    await lose_cache(platform)
    refreshed = await fans.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert refreshed.status_code == 200, refreshed.text
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await fans.client.get("/api/v1/me", headers=headers)).status_code == 200


async def test_a_signed_out_session_stays_refused_after_the_cache_lost_everything(
    fans: AuthHarness, platform: Platform
) -> None:
    account = await fans.account()
    out = await fans.client.post(
        "/api/v1/auth/logout",
        headers=account.headers,
        json={"refresh_token": account.refresh_token},
    )
    assert out.status_code == 204, out.text
    await lose_cache(platform)

    me = await fans.client.get("/api/v1/me", headers=account.headers)
    assert me.status_code == 401, me.text
    assert me.json()["code"] == "unauthenticated"
    refresh = await fans.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert refresh.status_code == 401, refresh.text
    assert await platform.cache.get(session_key(session_id_of(account.access_token))) is None


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_the_auth_client_over_http_answers_for_sessions(
    fans: AuthHarness, platform: Platform
) -> None:
    """The distributed gateway's question, asked over the internal route."""
    account = await fans.account()
    ended = await fans.account()
    await fans.client.post("/api/v1/auth/logout", headers=ended.headers)
    await lose_cache(platform)
    app = create_app(platform, gateway=False, manage_lifecycle=False)
    token = platform.settings.internal_token
    assert token is not None
    client = HttpAuthClient(
        "http://auth.test", token.get_secret_value(), transport=httpx.ASGITransport(app=app)
    )
    try:
        sid = session_id_of(account.access_token)
        assert await client.session_alive(sid, account.id) is True
        assert await client.session_alive(sid, ended.id) is False
        assert await client.session_alive(session_id_of(ended.access_token), ended.id) is False
        assert await platform.cache.get(session_key(sid)) == account.id.encode()
    finally:
        await client.aclose()


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_the_session_route_is_internal_only(fans: AuthHarness, platform: Platform) -> None:
    account = await fans.account()
    path = f"/internal/auth/sessions/{session_id_of(account.access_token)}"
    params = {"user_id": account.id}
    # Not through the gateway, whoever asks.
    through_gateway = await fans.client.get(path, params=params, headers=account.headers)
    assert through_gateway.status_code == 404
    app = create_app(platform, gateway=False, manage_lifecycle=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://auth.test"
    ) as direct:
        anonymous = await direct.get(path, params=params)
        assert anonymous.status_code == 403, anonymous.text
        fan = await direct.get(path, params=params, headers=account.headers)
        assert fan.status_code == 403, fan.text
        wrong = await direct.get(
            path, params=params, headers={"X-Koepon-Internal": "not-the-token"}
        )
        assert wrong.status_code == 403, wrong.text


# The gateway's check on its own: one question per session, a short memory of ended ones.


class Owner:
    """The auth service as the gateway sees it, answering when released."""

    def __init__(self, live: set[tuple[str, str]]) -> None:
        self.live = live
        self.asked: list[tuple[str, str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.called = asyncio.Event()
        self.down = False

    async def session_alive(self, session_id: str, user_id: str) -> bool:
        self.asked.append((session_id, user_id))
        self.called.set()
        await self.release.wait()
        if self.down:
            raise httpx.ConnectError("auth unreachable")
        return (session_id, user_id) in self.live


async def test_a_burst_for_one_lost_session_asks_auth_once() -> None:
    owner = Owner({("s1", "u1")})
    owner.release.clear()
    sessions = LiveSessions(MemoryCache(), owner)
    burst = [asyncio.create_task(sessions.alive("s1", "u1")) for _ in range(50)]
    # The question starts after every request of the burst has found the cache empty.
    await owner.called.wait()
    owner.release.set()
    assert await asyncio.gather(*burst) == [True] * 50
    assert owner.asked == [("s1", "u1")]


async def test_an_ended_session_is_remembered_for_a_short_while() -> None:
    now = [1000.0]
    owner = Owner(set())
    sessions = LiveSessions(MemoryCache(), owner, ended_seconds=30, clock=lambda: now[0])
    assert await sessions.alive("gone", "u1") is False
    assert await sessions.alive("gone", "u1") is False
    assert len(owner.asked) == 1
    now[0] += 31
    assert await sessions.alive("gone", "u1") is False
    assert len(owner.asked) == 2


async def test_the_memory_of_ended_sessions_is_bounded() -> None:
    owner = Owner(set())
    sessions = LiveSessions(MemoryCache(), owner, ended_max=3)
    for n in range(5):
        await sessions.alive(f"s{n}", "u1")
    assert await sessions.alive("s0", "u1") is False  # forgotten, so asked again
    assert len(owner.asked) == 6


async def test_a_cached_copy_answers_without_asking_auth() -> None:
    cache = MemoryCache()
    await cache.set(session_key("s1"), b"u1", 60)
    owner = Owner(set())
    sessions = LiveSessions(cache, owner)
    assert await sessions.alive("s1", "u1") is True
    assert await sessions.alive("s1", "someone-else") is False
    assert owner.asked == []


async def test_auth_unreachable_at_a_miss_is_unavailable_not_ended() -> None:
    owner = Owner({("s1", "u1")})
    owner.down = True
    sessions = LiveSessions(MemoryCache(), owner)
    with pytest.raises(SessionCheckUnavailable) as raised:
        await sessions.alive("s1", "u1")
    assert raised.value.dependency == "auth"
    owner.down = False  # nothing remembered from the failure
    assert await sessions.alive("s1", "u1") is True


class Verifier:
    async def verify(self, token: str) -> Principal:
        return FAN


class Limiter:
    async def hit(self, limit: str, *key: str) -> tuple[bool, int]:
        return True, 0


async def served(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"served"})


def edge(owner: Owner | None) -> httpx.AsyncClient:
    app: Any = AdmissionMiddleware(
        served,
        rate_limiter=Limiter(),  # type: ignore[arg-type]
        verifier=Verifier(),  # type: ignore[arg-type]
        sessions=MemoryCache(),
        session_owner=owner,
        per_ip="100 per 1 second",
        per_user="100 per 1 second",
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")


async def test_the_edge_answers_503_with_retry_after_while_auth_cannot_be_asked() -> None:
    owner = Owner({(FAN.session_id, FAN.user_id)})
    owner.down = True
    async with edge(owner) as http:
        refused = await http.get("/api/v1/me", headers={"authorization": "Bearer t"})
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["retry-after"]) > 0
        body = refused.json()
        assert (body["code"], body["dependency"]) == ("dependency_unavailable", "auth")
        owner.down = False
        admitted = await http.get("/api/v1/me", headers={"authorization": "Bearer t"})
        assert (admitted.status_code, admitted.text) == (200, "served")


async def test_without_an_owner_a_miss_is_an_ended_session() -> None:
    async with edge(None) as http:
        refused = await http.get("/api/v1/me", headers={"authorization": "Bearer t"})
    assert refused.status_code == 401
