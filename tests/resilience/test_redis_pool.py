"""Redis under ordinary load: a burst of signed-in requests far beyond the Redis pool waits for
connections instead of being refused (it was 109 × 503 of 205 with the client's default pool)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from koepon.kernel.settings import Settings

PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A pool far smaller than the burst, a wait long enough for two busy cores to work through
    # the burst, and limits that do not meter one client's burst.
    return settings.model_copy(
        update={
            "redis_max_connections": 16,
            "redis_pool_timeout_seconds": 30,
            "rate_limit_per_ip": "100000/minute",
            "rate_limit_per_user": "100000/minute",
        }
    )


@pytest.mark.parametrize("backend", ["distributed"], indirect=True)
async def test_500_concurrent_signed_in_requests_against_a_healthy_redis_get_no_503(
    client: httpx.AsyncClient,
) -> None:
    email = f"burst-{uuid.uuid4().hex[:8]}@example.com"
    signup = await client.post(
        "/api/v1/auth/signup",
        json={
            "email": email,
            "password": PASSWORD,
            "display_name": "Burst",
            "birthdate": "1990-04-01",
        },
    )
    assert signup.status_code == 201, signup.text
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    fan = {"authorization": f"Bearer {login.json()['access_token']}"}

    answers = await asyncio.gather(*(client.get("/api/v1/me", headers=fan) for _ in range(500)))
    refused = [r.text for r in answers if r.status_code != 200]
    assert refused == []
