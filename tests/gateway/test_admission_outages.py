"""The edge answers a sign-in it cannot check (auth or the session cache down) with the same
503 ``dependency_unavailable`` problem the services use, naming what is down."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from koepon.gateway.admission import AdmissionMiddleware
from koepon.kernel.tokens import Principal

FAN = Principal(user_id="fan-1", roles=frozenset({"fan"}), session_id="session-1")
BEARER = {"authorization": "Bearer any-token"}


class Limiter:
    async def hit(self, limit: str, *key: str) -> tuple[bool, int]:
        return True, 0


class Verifier:
    def __init__(self, *, down: bool) -> None:
        self.down = down

    async def verify(self, token: str) -> Principal:
        if self.down:
            raise ConnectionError("auth unreachable")
        return FAN


class Sessions:
    def __init__(self, *, down: bool) -> None:
        self.down = down

    async def get(self, key: str) -> bytes | None:
        if self.down:
            raise ConnectionError("cache unreachable")
        return FAN.user_id.encode()


async def service(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"served"})


def edge(*, auth_down: bool = False, cache_down: bool = False) -> httpx.AsyncClient:
    app: Any = AdmissionMiddleware(
        service,
        rate_limiter=Limiter(),  # type: ignore[arg-type]
        verifier=Verifier(down=auth_down),  # type: ignore[arg-type]
        sessions=Sessions(down=cache_down),  # type: ignore[arg-type]
        per_ip="100 per 1 second",
        per_user="100 per 1 second",
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")


async def test_both_up_the_request_reaches_the_service() -> None:
    async with edge() as http:
        response = await http.get("/api/v1/me", headers=BEARER)
    assert (response.status_code, response.text) == (200, "served")


@pytest.mark.parametrize(
    ("down", "dependency"), [({"auth_down": True}, "auth"), ({"cache_down": True}, "cache")]
)
async def test_a_sign_in_that_cannot_be_checked_is_a_503_naming_the_dependency(
    down: dict[str, bool], dependency: str
) -> None:
    async with edge(**down) as http:
        response = await http.get("/api/v1/me", headers=BEARER)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert (body["code"], body["dependency"]) == ("dependency_unavailable", dependency)
    assert "Sign-in cannot be checked" in body["detail"]
