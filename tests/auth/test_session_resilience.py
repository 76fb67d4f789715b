"""Sessions survive what should not end them: a restart of the embedded default, and a cache
outage during a refresh (issue 14)."""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from koepon.app import Platform
from koepon.kernel.settings import Settings

from .conftest import AuthHarness, client_at
from .test_api import assert_problem


class FlakyCache:
    """The platform's cache, except that writes fail while ``down`` (as Redis does)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None:
        if self.down:
            raise RedisConnectionError(
                "Error 111 connecting to 127.0.0.1:6379. Connection refused."
            )
        await self.inner.set(key, value, ttl_seconds)


async def test_a_refresh_during_a_cache_outage_can_be_retried_after_recovery(
    auth: AuthHarness,
) -> None:
    account = await auth.account()
    cache = FlakyCache(auth.service.sessions.cache)
    auth.service.sessions.cache = cache
    cache.down = True
    refresh = {"refresh_token": account.refresh_token}
    failed = await auth.client.post("/api/v1/auth/refresh", json=refresh)
    body = assert_problem(failed, 503, "dependency_unavailable")
    assert int(failed.headers["retry-after"]) > 0
    assert body["dependency"] == "cache"

    cache.down = False
    retried = await auth.client.post("/api/v1/auth/refresh", json=refresh)
    assert retried.status_code == 200, retried.text
    headers = {"Authorization": f"Bearer {retried.json()['access_token']}"}
    assert (await auth.client.get("/api/v1/me", headers=headers)).status_code == 200
    # The family was not taken for stolen: the rotated token goes on working.
    again = await auth.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": retried.json()["refresh_token"]}
    )
    assert again.status_code == 200, again.text


async def test_a_sign_in_during_a_cache_outage_leaves_no_half_session(auth: AuthHarness) -> None:
    account = await auth.account()
    cache = FlakyCache(auth.service.sessions.cache)
    auth.service.sessions.cache = cache
    cache.down = True
    failed = await auth.login(account.email, account.password)
    assert_problem(failed, 503, "dependency_unavailable")
    cache.down = False
    assert (await auth.login(account.email, account.password)).status_code == 200


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_a_restart_of_the_embedded_default_signs_nobody_out(
    auth: AuthHarness, settings: Settings
) -> None:
    account = await auth.account()
    ended = await auth.account()
    await auth.client.post("/api/v1/auth/logout", headers=ended.headers)
    await auth.platform.stop()

    restarted = Platform(settings)  # same data dir, a new (empty) in-memory cache
    await restarted.migrate()
    await restarted.start()
    try:
        async with client_at(restarted, "203.0.113.7") as http:
            # Restoring runs as the platform starts; give it a moment, as a fan's first
            # request after a restart would (the old code never accepted the token again).
            me = await http.get("/api/v1/me", headers=account.headers)
            for _ in range(100):
                if me.status_code == 200:
                    break
                await asyncio.sleep(0.05)
                me = await http.get("/api/v1/me", headers=account.headers)
            assert me.status_code == 200, me.text
            assert me.json()["id"] == account.id
            # A signed-out session stays signed out.
            assert_problem(await http.get("/api/v1/me", headers=ended.headers), 401)
            rotated = await http.post(
                "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
            )
            assert rotated.status_code == 200, rotated.text
    finally:
        await restarted.stop()


async def test_a_session_missing_from_the_cache_is_found_in_the_database(
    auth: AuthHarness,
) -> None:
    """Direct callers of the auth service (not through the gateway) after a cache flush."""
    account = await auth.account()
    sessions = auth.service.sessions
    await sessions.cache.delete("auth:session:" + _sid(account.access_token))
    assert await sessions.alive(_sid(account.access_token), account.id)
    assert await sessions.cache.get("auth:session:" + _sid(account.access_token)) is not None


def _sid(access_token: str) -> str:
    return str(jwt.decode(access_token, options={"verify_signature": False})["sid"])
