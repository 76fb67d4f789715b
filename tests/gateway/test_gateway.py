"""The whole platform behind the embedded gateway (both backends): the edge's promises."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from koepon.app import Platform, create_app
from koepon.kernel.problems import PROBLEM_JSON
from koepon.kernel.settings import Settings

PASSWORD = "correct horse battery"


def signup_body(email: str, **overrides: Any) -> dict[str, Any]:
    return {
        "email": email,
        "password": PASSWORD,
        "display_name": "推し活ファン",
        "birthdate": "1995-05-05",
        **overrides,
    }


def unique_email() -> str:
    return f"edge-{uuid.uuid4().hex[:10]}@example.jp"


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["detail"]


async def sign_in(client: httpx.AsyncClient) -> dict[str, str]:
    email = unique_email()
    assert (await client.post("/api/v1/auth/signup", json=signup_body(email))).status_code == 201
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"authorization": f"Bearer {login.json()['access_token']}"}


async def account_exists(client: httpx.AsyncClient, email: str) -> bool:
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return login.status_code == 200


@pytest.fixture
async def limited(
    settings: Settings, backend: str
) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """A platform of its own with other gateway settings (e.g. tiny rate limits)."""
    platforms: list[Platform] = []
    clients: list[httpx.AsyncClient] = []

    async def make(**overrides: Any) -> httpx.AsyncClient:
        platform = Platform(settings.model_copy(update=overrides))
        if backend == "embedded":
            await platform.migrate()
        await platform.start()
        platforms.append(platform)
        app = create_app(platform, manage_lifecycle=False)
        transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(http)
        return http

    yield make  # type: ignore[misc]
    for http in clients:
        await http.aclose()
    for platform in platforms:
        await platform.stop()


async def test_responses_carry_security_headers(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/api/v1/medal-packs"),
        await client.get("/api/v1/me"),
        await client.get("/healthz"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"]
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_oversized_signup_is_413_and_creates_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email()
    body = signup_body(email, display_name="x" * (settings.max_body_bytes + 1))
    assert_problem(await client.post("/api/v1/auth/signup", json=body), 413, "payload_too_large")

    async def chunked() -> AsyncIterator[bytes]:
        yield b'{"email": "' + email.encode() + b'", "display_name": "'
        for _ in range(settings.max_body_bytes // 4096 + 1):
            yield b"y" * 4096
        yield b'", "password": "' + PASSWORD.encode() + b'", "birthdate": "1995-05-05"}'

    response = await client.post(
        "/api/v1/auth/signup", content=chunked(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")
    assert not await account_exists(client, email)


async def test_malformed_json_is_a_4xx_problem_and_creates_nothing(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    for content in (
        b'{"email": "' + email.encode() + b'", "password": ',
        b"\xff\xfe\x00",
        b"[]",
        b"null",
    ):
        response = await client.post(
            "/api/v1/auth/signup", content=content, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, content
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert not await account_exists(client, email)


async def test_a_non_json_content_type_is_415_and_creates_nothing(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    response = await client.post(
        "/api/v1/auth/signup",
        content=json.dumps(signup_body(email)).encode(),
        headers={"content-type": "text/plain"},
    )
    assert_problem(response, 415, "unsupported_media_type")
    assert not await account_exists(client, email)


async def test_too_many_requests_per_ip_get_429_with_retry_after(limited) -> None:
    http = await limited(rate_limit_per_ip="5/minute")
    statuses = [(await http.get("/api/v1/medal-packs")).status_code for _ in range(5)]
    assert statuses == [200] * 5
    response = await http.get("/api/v1/medal-packs")
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1


async def test_too_many_requests_per_user_get_429_with_retry_after(limited) -> None:
    http = await limited(rate_limit_per_user="3/minute")
    headers = await sign_in(http)
    statuses = [(await http.get("/api/v1/me", headers=headers)).status_code for _ in range(3)]
    assert statuses == [200] * 3
    response = await http.get("/api/v1/me", headers=headers)
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1
    # Anonymous public reads from the same address still work: the limit was the user's.
    assert (await http.get("/api/v1/medal-packs")).status_code == 200


async def test_public_medal_packs_are_cached_briefly(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/medal-packs")
    second = await client.get("/api/v1/medal-packs")
    assert first.status_code == second.status_code == 200
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert second.json() == first.json()


async def test_reads_with_a_token_bypass_the_cache(client: httpx.AsyncClient) -> None:
    headers = await sign_in(client)
    for _ in range(2):
        response = await client.get("/api/v1/medal-packs", headers=headers)
        assert response.status_code == 200
        assert "x-cache" not in response.headers


async def test_internal_routes_are_404_from_outside_even_with_the_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.internal_token is not None
    secret = {"x-koepon-internal": settings.internal_token.get_secret_value()}
    for path in (f"/internal/auth/users/{uuid.uuid4()}/spending-profile", "/internal"):
        assert_problem(await client.get(path, headers=secret), 404, "not_found")


async def test_unknown_paths_are_404_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/no-such-thing"), 404, "not_found")


async def test_me_needs_a_token_and_a_bad_one_stops_at_the_edge(
    client: httpx.AsyncClient,
) -> None:
    assert_problem(await client.get("/api/v1/me"), 401, "unauthenticated")
    for token in ("garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."):
        response = await client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
        assert_problem(response, 401, "unauthenticated")
    headers = await sign_in(client)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200


async def test_a_signed_out_token_is_refused_by_every_service(client: httpx.AsyncClient) -> None:
    email = unique_email()
    assert (await client.post("/api/v1/auth/signup", json=signup_body(email))).status_code == 201
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": signup_body(email)["password"]}
    )
    tokens = login.json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/api/v1/wallet", headers=auth)).status_code == 200

    out = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=auth
    )
    assert out.status_code == 204, out.text
    # The access token is still within its 15 minutes, but its session is over.
    assert_problem(await client.get("/api/v1/wallet", headers=auth), 401, "unauthenticated")
    assert_problem(await client.get("/api/v1/me", headers=auth), 401, "unauthenticated")


async def test_metrics_need_an_operator_or_the_internal_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert_problem(await client.get("/metrics"), 401, "unauthenticated")
    fan = await sign_in(client)
    assert_problem(await client.get("/metrics", headers=fan), 403, "forbidden")
    assert settings.internal_token is not None
    scraper = {"x-koepon-internal": settings.internal_token.get_secret_value()}
    scraped = await client.get("/metrics", headers=scraper)
    assert scraped.status_code == 200
    assert "koepon_http_requests_total" in scraped.text
