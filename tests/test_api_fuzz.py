"""Property-based fuzz of every route in the OpenAPI document, as an outside client sees it.

The embedded platform is started the way a user starts it (``koepon serve --seed``) in its own
process; Schemathesis generates requests for each operation from the served OpenAPI document and
sends them anonymously, as the demo fan and as the demo operator. Whatever it sends, the platform
must never answer 5xx, every documented response must match its schema, and every refusal must be
an RFC 9457 problem naming what is wrong.

``KOEPON_FUZZ_BACKEND=distributed`` serves the platform on PostgreSQL + Redis + RabbitMQ instead
(a fresh database, the test Redis database, an exchange of its own); ``make test`` runs the
embedded platform, which the in-process tests already hold equal to the distributed one.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from koepon.app import Platform, create_app
from koepon.kernel.bus.rabbitmq import delete_topology
from koepon.kernel.settings import Settings
from process_stack import free_port
from worker_share import redis_url

DEMO_PASSWORD = "koepon-demo"
EXAMPLES = int(os.environ.get("KOEPON_FUZZ_EXAMPLES", "12"))
# Ending the caller's own session would leave the rest of the run anonymous.
SESSION_ENDING = {("POST", "/api/v1/auth/logout")}
# Embedded unless asked, or unless the run is narrowed to the distributed backend.
BACKEND = os.environ.get("KOEPON_FUZZ_BACKEND") or (
    "distributed" if os.environ.get("KOEPON_TEST_BACKENDS") == "distributed" else "embedded"
)
PG_ADMIN_DSN = os.environ.get("KOEPON_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = os.environ.get("KOEPON_TEST_PG_HOST", "postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("KOEPON_TEST_REDIS_URL") or redis_url("platform")
AMQP_URL = os.environ.get("KOEPON_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def backend_env() -> Iterator[dict[str, str]]:
    """The environment selecting the backend: none for embedded; for distributed a fresh
    PostgreSQL database, the test Redis database and an exchange, removed afterwards."""
    if BACKEND == "embedded":
        yield {}
        return
    assert BACKEND == "distributed", f"KOEPON_FUZZ_BACKEND={BACKEND!r}"
    tag = uuid.uuid4().hex[:10]
    database, exchange = f"koepon_fuzz_{tag}", f"koepon.fuzz.{tag}"
    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
    try:
        yield {
            "KOEPON_DATABASE_URL": f"postgresql+asyncpg://{PG_HOST}/{database}",
            "KOEPON_REDIS_URL": REDIS_URL,
            "KOEPON_AMQP_URL": AMQP_URL,
            "KOEPON_AMQP_EXCHANGE": exchange,
        }
    finally:
        cache.flushdb()
        cache.close()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        asyncio.run(delete_topology(AMQP_URL, exchange, CONSUMERS))


@pytest.fixture(scope="module")
def served_platform(
    tmp_path_factory: pytest.TempPathFactory, backend_env: dict[str, str]
) -> Iterator[str]:
    """``koepon serve --seed`` on a free port with a fresh data folder; yields its base URL."""
    data = tmp_path_factory.mktemp("fuzz") / "data"
    port = free_port()
    env = {
        **os.environ,
        "KOEPON_DATA_DIR": str(data),
        "KOEPON_ENVIRONMENT": "test",
        "KOEPON_RATE_LIMIT_PER_IP": "1000000/minute",
        "KOEPON_RATE_LIMIT_PER_USER": "1000000/minute",
        "KOEPON_LOG_LEVEL": "WARNING",
    }
    for name in ("KOEPON_DATABASE_URL", "KOEPON_REDIS_URL", "KOEPON_AMQP_URL"):
        env.pop(name, None)
    env.update(backend_env)
    log = (data.parent / "serve.log").open("wb")
    koepon = Path(sys.executable).with_name("koepon")
    process = subprocess.Popen(
        [str(koepon), "serve", "--seed", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"koepon serve exited: {(data.parent / 'serve.log').read_text()}"
                )
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("koepon serve did not become ready in 90 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _login(url: str, email: str) -> str:
    response = httpx.post(
        f"{url}/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def tokens(served_platform: str) -> dict[str, str]:
    return {
        "fan": _login(served_platform, "fan@demo.koepon.jp"),
        "operator": _login(served_platform, "admin@demo.koepon.jp"),
    }


def _openapi_document() -> tuple[dict[str, Any], list[str]]:
    """The OpenAPI document the platform serves, built from the app (no server needed), and
    the names of its event consumers (their queues, for the distributed run's clean-up)."""
    with tempfile.TemporaryDirectory() as folder:
        platform = Platform(Settings(data_dir=Path(folder) / "data", environment="test"))
        consumers = [c.name for unit in platform.units.values() for c in unit.consumers]
        return create_app(platform, manage_lifecycle=False).openapi(), consumers


DOCUMENT, CONSUMERS = _openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
# Valid requests and deliberately invalid ones (wrong types, missing fields, out-of-range values).
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)


def _problem_shaped(response: schemathesis.Response) -> None:
    """Every refusal is ``application/problem+json`` with a stable code (DESIGN.md, Errors)."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {content_type!r}: {response.text[:200]}"
    )
    body = response.json()
    assert (
        isinstance(body, dict) and body.get("code") and body.get("status") == (response.status_code)
    ), body


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


def _fuzz(case: schemathesis.Case[Any], url: str, token: str | None) -> None:
    if token and (case.method.upper(), case.path) in SESSION_ENDING:
        return
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = case.call_and_validate(
        base_url=url,
        headers=headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
        timeout=30,
    )
    _problem_shaped(response)


@schema.parametrize()
@FUZZ
def test_anonymous_input_never_fails_the_platform(
    case: schemathesis.Case[Any], served_platform: str
) -> None:
    _fuzz(case, served_platform, None)


@schema.parametrize()
@FUZZ
def test_a_fans_input_never_fails_the_platform(
    case: schemathesis.Case[Any], served_platform: str, tokens: dict[str, str]
) -> None:
    _fuzz(case, served_platform, tokens["fan"])


@schema.parametrize()
@FUZZ
def test_an_operators_input_never_fails_the_platform(
    case: schemathesis.Case[Any], served_platform: str, tokens: dict[str, str]
) -> None:
    _fuzz(case, served_platform, tokens["operator"])
