"""RFC 9457 problem responses: every error is application/problem+json with a stable code."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from koepon.kernel.problems import (
    PROBLEM_JSON,
    PROBLEM_TYPE_BASE,
    Problem,
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
