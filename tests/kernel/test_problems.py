"""RFC 9457 problem responses: every error is application/problem+json with a stable code."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors

from koepon.app import create_app
from koepon.kernel.db import DatabaseUnreachable
from koepon.kernel.observability import RequestContextMiddleware
from koepon.kernel.problems import (
    PROBLEM_JSON,
    PROBLEM_TYPE_BASE,
    Problem,
    dependency_of,
    install_problem_handlers,
)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things/{thing_id}")
    async def make(thing_id: int, size: int) -> dict[str, int]:
        if size > 10:
            raise Problem(
                409,
                "thing_too_big",
                "A thing holds at most 10.",
                headers={"Retry-After": "3"},
                limit=10,
            )
        return {"id": thing_id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_problem_renders_its_code_detail_extras_and_headers(http: httpx.AsyncClient) -> None:
    response = await http.post("/things/1", params={"size": 11})
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == "3"
    assert response.json() == {
        "type": PROBLEM_TYPE_BASE + "thing_too_big",
        "title": "Thing too big",
        "status": 409,
        "detail": "A thing holds at most 10.",
        "code": "thing_too_big",
        "instance": "/things/1",
        "limit": 10,
    }


async def test_invalid_input_is_a_422_problem_naming_the_fields(http: httpx.AsyncClient) -> None:
    response = await http.post("/things/abc", params={"size": "many"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["code"] == "validation_failed"
    assert {tuple(e["loc"]) for e in body["errors"]} == {("path", "thing_id"), ("query", "size")}
    assert "thing_id" in body["detail"] and "size" in body["detail"]


async def test_framework_errors_become_problems(http: httpx.AsyncClient) -> None:
    missing = await http.get("/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM_JSON
    assert missing.json()["code"] == "not_found"
    wrong_method = await http.get("/things/1")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


def test_problem_body_without_instance() -> None:
    body = Problem(429, "rate_limited", "Slow down.").body()
    assert body == {
        "type": PROBLEM_TYPE_BASE + "rate_limited",
        "title": "Rate limited",
        "status": 429,
        "detail": "Slow down.",
        "code": "rate_limited",
    }


# --- outages and the unexpected ---------------------------------------------------------------

SECRET_DSN = "postgresql://koepon:s3cret-password@db.internal:5432/koepon"


def _outage_app() -> FastAPI:
    """Routes and a middleware that fail the way real dependencies fail."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/database")
    async def database() -> None:
        cause = ConnectionRefusedError(111, f"connect to {SECRET_DSN} refused")
        raise sa_errors.OperationalError("SELECT secret FROM t", {"p": SECRET_DSN}, cause)

    @app.get("/database/pool")
    async def pool() -> None:
        raise sa_errors.TimeoutError("QueuePool limit of size 10 overflow 10 reached")

    @app.get("/database/asyncpg")
    async def raw_asyncpg() -> None:
        raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    @app.get("/cache")
    async def cache() -> None:
        raise redis_errors.ConnectionError("Error 111 connecting to redis://:pw@cache:6379/0")

    @app.get("/integrity")
    async def integrity() -> None:
        raise sa_errors.IntegrityError("INSERT", {}, Exception("duplicate key"))

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    @app.middleware("http")
    async def failing_middleware(request, call_next):  # type: ignore[no-untyped-def]
        if request.url.path == "/middleware/cache":
            raise redis_errors.TimeoutError("Timeout reading from cache:6379")
        if request.url.path == "/middleware/bug":
            raise KeyError("a bug in middleware")
        if request.url.path == "/middleware/refusal":
            raise Problem(429, "rate_limited", "Slow down.", headers={"Retry-After": "7"})
        return await call_next(request)

    app.add_middleware(RequestContextMiddleware, service="test")
    return app


@pytest.fixture
async def outages() -> AsyncIterator[httpx.AsyncClient]:
    # The server-error layer answers and then re-raises for the server's log; a real server
    # logs it, the test transport must not turn it into a client-side exception.
    transport = httpx.ASGITransport(app=_outage_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


@pytest.mark.parametrize(
    ("path", "dependency"),
    [
        ("/database", "database"),
        ("/database/pool", "database"),
        ("/database/asyncpg", "database"),
        ("/cache", "cache"),
        ("/middleware/cache", "cache"),
    ],
)
async def test_an_unreachable_dependency_is_a_503_problem_with_retry_after(
    outages: httpx.AsyncClient, path: str, dependency: str
) -> None:
    response = await outages.get(path, headers={"x-request-id": "req-1"})
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["code"] == "dependency_unavailable"
    assert body["dependency"] == dependency
    assert body["request_id"] == "req-1"
    assert "s3cret" not in response.text and "redis://" not in response.text


@pytest.mark.parametrize("path", ["/bug", "/middleware/bug", "/integrity"])
async def test_anything_unexpected_is_a_500_problem_carrying_the_request_id(
    outages: httpx.AsyncClient, path: str
) -> None:
    response = await outages.get(path, headers={"x-request-id": "req-2"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["x-request-id"] == "req-2"
    body = response.json()
    assert body["code"] == "internal_error"
    assert body["request_id"] == "req-2"
    assert "req-2" in body["detail"]
    assert "bug" not in body["detail"] and "duplicate" not in response.text


async def test_a_problem_raised_by_a_middleware_keeps_its_own_answer(
    outages: httpx.AsyncClient,
) -> None:
    response = await outages.get("/middleware/refusal", headers={"x-request-id": "req-3"})
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-request-id"] == "req-3"
    assert response.json()["code"] == "rate_limited"


def test_dependency_of_follows_the_cause_chain() -> None:
    try:
        try:
            raise ConnectionResetError("peer reset")
        except ConnectionResetError as exc:
            raise asyncpg.exceptions.ConnectionDoesNotExistError("closed mid-operation") from exc
    except Exception as wrapped:
        assert dependency_of(wrapped) == "database"
    assert dependency_of(ValueError("not an outage")) is None
    assert dependency_of(ConnectionRefusedError()) == "backing service"


# --- the same answers from the whole platform app ------------------------------------------------


@pytest.fixture
async def platform_http(platform) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = create_app(platform, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _fan(http: httpx.AsyncClient) -> dict[str, str]:
    email = f"fan-{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery staple"
    signup = await http.post(
        "/api/v1/auth/signup",
        json={
            "email": email,
            "password": password,
            "display_name": "Fan",
            "birthdate": "1990-04-01",
        },
    )
    assert signup.status_code == 201, signup.text
    login = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    return {"authorization": f"Bearer {login.json()['access_token']}"}


async def test_the_platform_answers_a_database_outage_with_503_and_a_bug_with_a_500_problem(
    platform, platform_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    fan = await _fan(platform_http)
    payment_db = platform.units["payment"].db

    def unreachable() -> None:
        raise DatabaseUnreachable("database connection failed: ConnectionRefusedError")

    monkeypatch.setattr(payment_db, "sessionmaker", unreachable)
    down = await platform_http.get("/api/v1/wallet", headers=fan)
    assert down.status_code == 503
    assert down.headers["content-type"] == PROBLEM_JSON
    assert down.json()["dependency"] == "database"
    assert int(down.headers["retry-after"]) > 0

    def bug() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(payment_db, "sessionmaker", bug)
    broken = await platform_http.get("/api/v1/wallet", headers=fan | {"x-request-id": "req-9"})
    assert broken.status_code == 500
    assert broken.headers["content-type"] == PROBLEM_JSON
    assert broken.json()["code"] == "internal_error"
    assert broken.json()["request_id"] == "req-9"
    assert broken.headers["x-request-id"] == "req-9"
