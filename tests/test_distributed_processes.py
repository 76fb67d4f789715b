"""The services and the gateway as separate OS processes on loopback ports, spoken to only
through the gateway: PostgreSQL, Redis and RabbitMQ underneath, as in production."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from koepon.kernel.settings import SERVICES
from process_stack import (
    PASSWORD,
    Stack,
    backing,
    database_dsn,
    free_port,
    one_off,
    run_to_end,
    serve,
    signup,
    start_process,
)
from worker_share import redis_url

pytestmark = pytest.mark.distributed

# Its own Redis database, so the in-process tests (db 1) and these never flush each other.
REDIS_URL = os.environ.get("KOEPON_TEST_PROCESS_REDIS_URL") or redis_url("processes")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("processes")
    ports = {name: free_port() for name in (*SERVICES, "gateway")}
    with backing("proc", REDIS_URL) as stores:
        env = stores.env(
            data_dir=logs / "data",
            service_urls={name: f"http://127.0.0.1:{ports[name]}" for name in SERVICES},
            public_url=f"http://127.0.0.1:{ports['gateway']}",
            internal_token="process-test-" + uuid.uuid4().hex,
        )
        env["KOEPON_MAX_BODY_BYTES"] = "4096"
        stack = Stack(
            gateway=f"http://127.0.0.1:{ports['gateway']}",
            internal_token=env["KOEPON_INTERNAL_TOKEN"],
            database=stores.database,
            env=env,
            logs=logs,
        )
        # The gateway needs no database: it starts while the services' schemas are migrated.
        migrate = one_off(["migrate"], env)
        try:
            for name in ("gateway", *SERVICES):
                if name != "gateway" and migrate.returncode is None:
                    run_to_end(migrate, "koepon migrate")
                stack.processes[name] = serve(name, name, ports[name], env, logs)
            stack.processes["worker"] = start_process("worker", ["worker"], env, logs)
            stack.wait_all_healthy()
            yield stack
        finally:
            if migrate.poll() is None:
                migrate.kill()
                migrate.wait()
            stack.stop_all()


@pytest.fixture
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway, timeout=15) as http:
        yield http


def test_every_service_and_the_gateway_run_in_their_own_process(stack: Stack) -> None:
    pids = {name: p.popen.pid for name, p in stack.processes.items()}
    assert len(set(pids.values())) == len(pids)
    assert all(p.popen.poll() is None for p in stack.processes.values())
    ready = httpx.get(f"{stack.gateway}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    # The gateway's readiness is its own (the cache); each service's health is in the details.
    assert ready.json()["checks"] == {"cache": True}
    details = httpx.get(
        f"{stack.gateway}/healthz/details",
        headers={"x-koepon-internal": stack.internal_token},
        timeout=10,
    ).json()
    assert {name: details["details"][name]["ok"] for name in SERVICES} == dict.fromkeys(
        SERVICES, True
    )


def test_me_without_a_token_through_the_gateway_is_401(gateway: httpx.Client) -> None:
    response = gateway.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    forged = gateway.get("/api/v1/me", headers={"authorization": "Bearer not.a.token"})
    assert forged.status_code == 401


def test_internal_routes_are_not_reachable_through_the_gateway(gateway: httpx.Client) -> None:
    response = gateway.get("/internal/auth/users/1/spending-profile")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_oversized_or_malformed_bodies_are_refused_and_change_nothing(
    gateway: httpx.Client,
) -> None:
    email = f"big-{uuid.uuid4().hex[:8]}@example.com"

    def chunked():  # type: ignore[no-untyped-def]
        yield json.dumps({"email": email, "password": PASSWORD, "display_name": "x"})[:-1].encode()
        for _ in range(10):
            yield b" " * 1000
        yield b', "birthdate": "1990-04-01"}'

    too_big = gateway.post(
        "/api/v1/auth/signup", content=chunked(), headers={"content-type": "application/json"}
    )
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["code"] == "payload_too_large"
    malformed = gateway.post(
        "/api/v1/auth/signup",
        content=b'{"email": "' + email.encode() + b'", ',
        headers={"content-type": "application/json"},
    )
    assert 400 <= malformed.status_code < 500
    assert malformed.headers["content-type"].startswith("application/problem+json")
    login = gateway.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 401


def test_signup_login_refresh_and_me_through_the_gateway(
    stack: Stack, gateway: httpx.Client
) -> None:
    email = f"fan-{uuid.uuid4().hex[:8]}@example.com"
    created = signup(gateway, email)
    assert created.status_code == 201, created.text

    login = gateway.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    first = login.json()
    assert first["token_type"].lower() == "bearer"

    refreshed = gateway.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]

    request_id = "proc-" + uuid.uuid4().hex
    me = gateway.get(
        "/api/v1/me",
        headers={
            "authorization": f"Bearer {second['access_token']}",
            "x-request-id": request_id,
        },
    )
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
    assert me.headers["x-request-id"] == request_id

    # The gateway process answered, and the auth process served the same request.
    [served] = stack.access_log("auth", request_id)
    assert served["service"] == "auth"
    assert served["path"] == "/api/v1/me"
    assert served["status"] == 200
    [edge] = stack.access_log("gateway", request_id)
    assert edge["service"] == "gateway"
    assert stack.processes["auth"].popen.pid != stack.processes["gateway"].popen.pid

    # A spent refresh token presented again is refused (and revokes its family).
    reused = gateway.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401


def test_the_pages_are_served_by_the_gateway_process_and_sign_in_through_it(
    stack: Stack, gateway: httpx.Client
) -> None:
    """The web pages live on the gateway process and reach the auth process over HTTP."""
    email = f"page-{uuid.uuid4().hex[:8]}@example.com"
    assert signup(gateway, email).status_code == 201
    page = gateway.get("/login")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    answer = gateway.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "/account",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/account", answer.text
    account = gateway.get("/account")
    assert account.status_code == 200 and email in account.text
    assert account.headers["cache-control"] == "no-store"
    # The page's API call crossed to the auth process: its access log shows /api/v1/me.
    assert any(
        entry.get("path") == "/api/v1/me"
        for entry in stack.processes["auth"].lines()
        if entry.get("event") == "http.access"
    )


def test_a_stopped_vtuber_process_refuses_authoring_at_once_and_a_restart_heals_it(
    stack: Stack, gateway: httpx.Client
) -> None:
    """The gacha process asks the VTuber process who may author; with it gone, authoring is
    refused with 503 at once (nothing written) while the public catalogue is served; once it is
    back, authoring works again."""
    email = f"vt-{uuid.uuid4().hex[:8]}@example.com"
    assert signup(gateway, email).status_code == 201
    login = gateway.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    owner = login.json()
    headers = {"authorization": f"Bearer {owner['access_token']}"}
    user_id = gateway.get("/api/v1/me", headers=headers).json()["id"]
    vtuber_id = str(uuid.uuid4())

    async def register() -> None:  # an approved VTuber, as the seed registers one
        conn = await asyncpg.connect(database_dsn(stack.database))
        try:
            await conn.execute(
                "INSERT INTO vtuber.vtuber_profiles (id, owner_user_id, status, display_name, "
                "bio, channel_links, entity_type, legal_name, bank, revenue_share_bp, "
                "applied_at, updated_at) VALUES ($1, $2, 'approved', 'プロセス配信者', '', "
                "'[]', 'individual', '配信 太郎', '{}', 7000, now(), now())",
                vtuber_id,
                user_id,
            )
        finally:
            await conn.close()

    asyncio.run(register())
    start = datetime.now(UTC) - timedelta(hours=1)
    draft = {
        "title": "プロセスガチャ",
        "config": {
            "kind": "weighted",
            "price_medals": 300,
            "price_jpy": 300,
            "period": {"starts_at": start.isoformat()},
            "items": [{"item_id": "a", "content_id": "c-a", "rarity": "N", "name": "A"}],
            "main": [{"item_id": "a", "weight": 1}],
        },
    }
    path = f"/api/v1/vtubers/{vtuber_id}/gachas"
    made = gateway.post(path, json=draft, headers=headers)
    assert made.status_code == 201, made.text

    stack.processes["vtuber"].stop()
    try:
        started = time.monotonic()
        refused = gateway.post(path, json=draft, headers=headers)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "dependency_unavailable"
        assert time.monotonic() - started < 5
        assert gateway.get("/api/v1/gachas").status_code == 200
        listed = gateway.get(path, headers=headers)
        assert listed.status_code == 503
    finally:
        stack.restart("vtuber")
    again = gateway.post(path, json=draft, headers=headers)
    assert again.status_code == 201, again.text
    drafts = gateway.get(path, headers=headers).json()["items"]
    assert len(drafts) == 2  # the refused attempt wrote nothing


def test_the_gateway_answers_502_once_the_auth_process_is_gone(
    stack: Stack, gateway: httpx.Client
) -> None:
    # Last in this module: it stops the auth process for good.
    stack.processes["auth"].stop()
    response = gateway.post("/api/v1/auth/login", json={"email": "a@b.jp", "password": "x"})
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_unavailable"
    assert int(response.headers["retry-after"]) > 0
    # The gateway stays in rotation (payment still works through it); operators see auth down.
    assert (gateway.get("/readyz")).status_code == 200
    internal = {"x-koepon-internal": stack.internal_token}
    details = gateway.get("/healthz/details", headers=internal).json()
    assert details["status"] == "degraded"
    assert details["details"]["auth"]["ok"] is False
