"""The VtuberTeams client other services call: in-process and over /internal/vtuber alike."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from conftest import TEST_INTERNAL_TOKEN
from koepon.app import Platform, create_app
from koepon.auth.client import HttpAuthClient, LocalAuthClient
from koepon.contracts.vtuber import Permission, VtuberUnavailable
from koepon.vtuber.client import HttpVtuberTeams, InProcessVtuberTeams
from vtuber.teams_kit import Studio, studio_fixture  # noqa: F401 - the studio fixture


def internal_transport(platform: Platform) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=create_app(platform, manage_lifecycle=False, gateway=False))


@pytest.fixture
async def remote(platform: Platform) -> AsyncIterator[HttpVtuberTeams]:
    client = HttpVtuberTeams(
        "http://vtuber", TEST_INTERNAL_TOKEN, transport=internal_transport(platform)
    )
    yield client
    await client.close()


async def test_in_process_and_http_answer_the_same(studio: Studio, remote: HttpVtuberTeams) -> None:
    local = studio.platform.units["vtuber"].client
    assert isinstance(local, InProcessVtuberTeams)
    owner, vtuber_id = await studio.vtuber()
    editor = await studio.member(vtuber_id, owner, "editor")
    fan = await studio.account()
    pending_id = (await studio.apply(fan)).json()["id"]
    cases = [
        (vtuber_id, owner.id, frozenset()),
        (vtuber_id, editor.id, frozenset()),
        (vtuber_id, editor.id, frozenset({"compliance"})),
        (vtuber_id, fan.id, frozenset({"support"})),
        (pending_id, fan.id, frozenset()),
        ("unknown", fan.id, frozenset({"admin"})),
        ("unknown", fan.id, frozenset()),
    ]
    for case in cases:
        assert await local.permissions(*case) == await remote.permissions(*case), case
    assert await remote.permissions(vtuber_id, editor.id, frozenset()) == {
        Permission.CONTENT_UPLOAD,
        Permission.GACHA_EDIT,
    }
    ids = frozenset({vtuber_id, pending_id, "unknown"})
    assert await local.approved(ids) == await remote.approved(ids) == {vtuber_id}
    assert await remote.approved(frozenset()) == frozenset()
    with pytest.raises(ValueError):
        await remote.approved(frozenset(f"v{i}" for i in range(101)))


async def test_the_internal_routes_need_the_internal_token(platform: Platform) -> None:
    transport = internal_transport(platform)
    async with httpx.AsyncClient(transport=transport, base_url="http://vtuber") as http:
        body = {"vtuber_id": "v", "user_id": "u", "roles": []}
        for headers in ({}, {"X-Koepon-Internal": "wrong"}):
            assert (
                await http.post("/internal/vtuber/permissions", json=body, headers=headers)
            ).status_code == 403
            answer = await http.post(
                "/internal/vtuber/approved", json={"vtuber_ids": []}, headers=headers
            )
            assert answer.status_code == 403
        token = {"X-Koepon-Internal": TEST_INTERNAL_TOKEN}
        ok = await http.post("/internal/vtuber/permissions", json=body, headers=token)
        assert ok.status_code == 200 and ok.json() == {"permissions": []}
        bad = await http.post(
            "/internal/vtuber/permissions", json={**body, "vtuber_id": "x" * 65}, headers=token
        )
        assert bad.status_code == 422
    stranger = HttpVtuberTeams("http://vtuber", "wrong-token", transport=transport)
    try:
        with pytest.raises(VtuberUnavailable):
            await stranger.permissions("v", "u", frozenset())
        with pytest.raises(VtuberUnavailable):
            await stranger.approved(frozenset({"v"}))
    finally:
        await stranger.close()


async def test_the_internal_routes_are_not_reachable_through_the_gateway(studio: Studio) -> None:
    token = {"X-Koepon-Internal": TEST_INTERNAL_TOKEN}
    answer = await studio.client.post(
        "/internal/vtuber/approved", json={"vtuber_ids": []}, headers=token
    )
    assert answer.status_code in (403, 404)


async def test_an_unreachable_database_is_vtuber_unavailable(studio: Studio) -> None:
    local = studio.platform.units["vtuber"].client
    assert isinstance(local, InProcessVtuberTeams)

    class Broken:
        async def permissions(self, *args: object) -> frozenset[Permission]:
            raise ConnectionError("database down")

        async def approved(self, *args: object) -> frozenset[str]:
            raise ConnectionError("database down")

    broken = InProcessVtuberTeams(local.db, Broken())  # type: ignore[arg-type]
    with pytest.raises(VtuberUnavailable):
        await broken.permissions("v", "u", frozenset())
    with pytest.raises(VtuberUnavailable):
        await broken.approved(frozenset({"v"}))


async def test_auth_tells_the_verified_email_in_process_and_over_http(studio: Studio) -> None:
    verified = await studio.account()
    unverified = await studio.account(verified=False)
    local = studio.platform.units["auth"].client
    assert isinstance(local, LocalAuthClient)
    remote = HttpAuthClient(
        "http://auth", TEST_INTERNAL_TOKEN, transport=internal_transport(studio.platform)
    )
    try:
        for client in (local, remote):
            assert await client.verified_email(verified.id) == verified.email
            assert await client.verified_email(unverified.id) is None
            assert await client.verified_email("00000000-0000-0000-0000-000000000000") is None
            assert await client.verified_email("not-a-uuid") is None
    finally:
        await remote.aclose()
    stranger = HttpAuthClient("http://auth", "wrong", transport=internal_transport(studio.platform))
    try:
        with pytest.raises(httpx.HTTPStatusError):
            await stranger.verified_email(verified.id)
    finally:
        await stranger.aclose()


async def test_a_hung_vtuber_service_opens_the_breaker_and_then_fails_at_once(
    listener: socket.socket,
) -> None:
    """A VTuber service that accepts connections and never answers: each of the first calls
    waits out the timeout, then the breaker answers at once (no queue of waiting requests)."""
    listener.listen(16)  # connections are accepted by the kernel; nobody ever answers
    host, port = listener.getsockname()[:2]
    hung = HttpVtuberTeams(
        f"http://{host}:{port}", "token", timeout=0.2, failures=2, reset_seconds=60
    )
    try:
        for _ in range(2):
            started = time.monotonic()
            with pytest.raises(VtuberUnavailable):
                await hung.permissions("v-1", "u-1", frozenset())
            assert time.monotonic() - started >= 0.15  # waited for the timeout
        started = time.monotonic()
        with pytest.raises(VtuberUnavailable, match="circuit open"):
            await hung.permissions("v-1", "u-1", frozenset())
        assert time.monotonic() - started < 0.1
    finally:
        await hung.close()
