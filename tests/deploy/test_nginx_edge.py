"""nginx as the edge (deploy/nginx/koepon.conf.template): the same routes as the gateway's
ROUTES, and, with Debian's nginx in front of the services as separate processes on loopback, a
fan's whole journey through it (sign-up → purchase → draw watched over a WebSocket → download),
429s from its limits and no way to /internal."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from deploy.nginx_conf import (
    API_BURST,
    LOCATION,
    LOGIN_BURST,
    TEMPLATE,
    choose,
    nginx_binary,
    parsed_locations,
    render,
    start_nginx,
    stop_nginx,
    values,
    wait_answering,
    write_prefix,
)
from gateway.socketio_wire import Socket
from koepon.gateway.routing import CACHEABLE, ROUTES
from koepon.kernel.settings import SERVICES
from process_stack import (
    PASSWORD,
    Stack,
    backing,
    free_port,
    one_off,
    run_to_end,
    serve,
    signup,
    start_process,
)
from worker_share import redis_url

# Its own Redis database: the other process tests flush theirs (db 2) and the in-process ones db 1.
REDIS_URL = os.environ.get("KOEPON_TEST_NGINX_REDIS_URL") or redis_url("nginx")


# --- the configuration itself (needs no nginx) -----------------------------------------------


def test_every_gateway_route_goes_to_the_same_service_through_nginx() -> None:
    locations = parsed_locations()
    for prefix, service in ROUTES.items():
        base = prefix.replace("*", "v-1")
        for path in (base, base + "/", base + "/x-1/y"):
            assert choose(locations, path) == service, (path, service)
    # The gateway process serves everything else; /internal is never reachable.
    for path in ("/", "/login", "/static/app.css", "/socket.io/", "/healthz", "/api/v1/docs"):
        assert choose(locations, path) == "gateway", path
    assert choose(locations, "/api/v1/meh") == "gateway"  # a prefix only at segment boundaries
    assert choose(locations, "/api/v1/vtubers/v-1") == "vtuber"
    for path in ("/internal", "/internal/auth/users/1/spending-profile"):
        assert choose(locations, path) == "404"


def test_the_cacheable_gets_and_the_upload_paths_have_their_directives() -> None:
    text = TEMPLATE.read_text()
    cached = {p for kind, p, body in LOCATION.findall(text) if "proxy_cache koepon_api" in body}
    assert cached == {p for prefix in CACHEABLE for p in (prefix, prefix + "/")}
    larger = [p for _, p, body in LOCATION.findall(text) if "MAX_UPLOAD_BYTES" in body]
    assert larger == ["^/api/v1/vtubers/[^/]+/contents/?$", "^/studio/[^/]+/contents/upload$"]


def test_the_rendered_configuration_passes_nginx_t(tmp_path: Path) -> None:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (bash scripts/ensure-nginx installs Debian's)")
    # Every upstream with two replicas, as the failover test runs them.
    upstreams = {
        name: [f"127.0.0.1:{9000 + i}", f"127.0.0.1:{9100 + i}"]
        for i, name in enumerate((*SERVICES, "gateway"))
    }
    conf = write_prefix(tmp_path, values("127.0.0.1:1", upstreams, "logs/access.log"))
    assert "server 127.0.0.1:9100 max_fails=1" in conf.read_text()
    checked = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr
    with pytest.raises(KeyError, match="LISTEN"):
        render(TEMPLATE.read_text(), {})


# --- the services behind a running nginx ---------------------------------------------------


class Edge:
    def __init__(self, stack: Stack, url: str, access_log: Path) -> None:
        self.stack = stack
        self.url = url
        self.access_log = access_log

    def logged(self, request_id: str) -> list[dict[str, object]]:
        deadline = time.monotonic() + 5
        while True:
            lines = [
                json.loads(line)
                for line in self.access_log.read_text().splitlines()
                if request_id in line
            ]
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed and could not be: run `bash scripts/ensure-nginx`")
    logs = tmp_path_factory.mktemp("nginx-edge")
    ports = {name: free_port() for name in (*SERVICES, "gateway", "nginx")}
    edge_url = f"http://127.0.0.1:{ports['nginx']}"
    with backing("nginx", REDIS_URL) as stores:
        env = stores.env(
            data_dir=logs / "data",
            service_urls={name: f"http://127.0.0.1:{ports[name]}" for name in SERVICES},
            # Links the services hand out (signed download URLs) point at the edge.
            public_url=edge_url,
            internal_token="nginx-test-" + uuid.uuid4().hex,
        )
        stack = Stack(
            gateway=f"http://127.0.0.1:{ports['gateway']}",
            database=stores.database,
            env=env,
            logs=logs,
        )
        nginx: subprocess.Popen[bytes] | None = None
        # The gateway (pages) and nginx need no database: they start while the demo data
        # (accounts, packs, a live gacha with its contents) is seeded, which migrates first.
        seed = one_off(["seed"], env)
        try:
            upstreams = {name: f"127.0.0.1:{ports[name]}" for name in (*SERVICES, "gateway")}
            prefix = logs / "nginx"
            conf = write_prefix(
                prefix, values(f"127.0.0.1:{ports['nginx']}", upstreams, "logs/access.log")
            )
            nginx = start_nginx(binary, prefix, conf)
            for name in ("gateway", *SERVICES):
                if name != "gateway" and seed.returncode is None:
                    run_to_end(seed, "koepon seed")
                stack.processes[name] = serve(name, name, ports[name], env, logs)
            stack.processes["worker"] = start_process("worker", ["worker"], env, logs)
            stack.wait_all_healthy()
            wait_answering(nginx, prefix, conf, f"{edge_url}/healthz")
            yield Edge(stack, edge_url, prefix / "logs" / "access.log")
        finally:
            if seed.poll() is None:
                seed.kill()
                seed.wait()
            stop_nginx(nginx)
            stack.stop_all()


def eventually(check, seconds: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


async def watched_draw(url: str, gacha_id: str, auth: dict[str, str]) -> str:
    """One draw, watched over a WebSocket upgraded through nginx to the gateway process: the
    watcher is told the gacha's stock changed."""
    watcher = await Socket.open(url, {"watch": [gacha_id]})
    try:
        async with httpx.AsyncClient(base_url=url, timeout=15) as http:
            made = await http.post(
                f"/api/v1/gachas/{gacha_id}/draws",
                json={"count": 1},
                headers={**auth, "idempotency-key": uuid.uuid4().hex},
            )
        assert made.status_code in (200, 202), made.text
        assert await watcher.next("stock.changed", wait=20) == {"gacha_id": gacha_id}
        return str(made.json()["id"])
    finally:
        await watcher.close()


@pytest.fixture
def http(edge: Edge) -> Iterator[httpx.Client]:
    """A client that speaks to nginx only."""
    with httpx.Client(base_url=edge.url, timeout=15) as client:
        yield client


@pytest.mark.distributed
def test_sign_up_purchase_draw_and_download_through_nginx(edge: Edge, http: httpx.Client) -> None:
    from koepon.seed import demo_gacha_id

    email = f"edge-{uuid.uuid4().hex[:8]}@example.com"
    assert signup(http, email).status_code == 201
    login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.headers["cache-control"] == "no-store"  # a token answer, as the gateway marks it
    auth = {"authorization": f"Bearer {login.json()['access_token']}"}

    request_id = "edge-" + uuid.uuid4().hex
    me = http.get("/api/v1/me", headers={**auth, "x-request-id": request_id})
    assert me.status_code == 200 and me.json()["email"] == email, me.text
    assert me.headers["x-request-id"] == request_id
    assert me.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in me.headers["content-security-policy"]
    # nginx sent it straight to the auth process (no gateway hop), which logged the same id.
    [served] = edge.stack.access_log("auth", request_id)
    assert served["path"] == "/api/v1/me" and served["status"] == 200
    assert not edge.stack.access_log("gateway", request_id)
    [logged] = edge.logged(request_id)
    assert logged["status"] == 200
    assert f"http://{logged['upstream']}" == edge.stack.processes["auth"].url
    # No token check at the edge: the service itself refuses a forged one.
    forged = http.get("/api/v1/me", headers={"authorization": "Bearer not.a.token"})
    assert forged.status_code == 401

    # The public pack list is cached at the edge for anonymous callers.
    packs = http.get("/api/v1/medal-packs")
    assert packs.status_code == 200, packs.text
    assert http.get("/api/v1/medal-packs").headers.get("x-cache") == "HIT"
    pack = min(
        (p for p in packs.json() if p["paid_medals"] + p["bonus_medals"] >= 300),
        key=lambda p: p["price_jpy"],
    )
    checkout = http.post(
        "/api/v1/checkouts",
        json={"pack_id": pack["id"], "provider": "sandbox"},
        headers={**auth, "idempotency-key": uuid.uuid4().hex},
    )
    assert checkout.status_code == 201, checkout.text
    paid = http.post(
        f"/sandbox/checkouts/{checkout.json()['id']}/complete", json={"outcome": "succeeded"}
    )
    assert paid.status_code == 200 and paid.json()["webhook_status"] == 200, paid.text

    gacha_id = demo_gacha_id("luna-first")
    draw_id = asyncio.run(watched_draw(edge.url, gacha_id, auth))
    done = eventually(
        lambda: http.get(f"/api/v1/draws/{draw_id}", headers=auth).json()["status"] == "completed"
    )
    assert done, http.get(f"/api/v1/draws/{draw_id}", headers=auth).text

    def owned() -> list[dict[str, str]]:
        answer = http.get("/api/v1/collection", headers=auth)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    collection = eventually(owned)
    assert collection and collection[0]["gacha_id"] == gacha_id, collection
    link = http.post(f"/api/v1/collection/{collection[0]['id']}/download", headers=auth)
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    assert url.startswith("/api/v1/downloads/"), url
    # The URL is the credential: fetched through nginx without a token.
    got = httpx.get(edge.url + url, timeout=15, follow_redirects=False)
    assert got.status_code == 200, got.text[:300]
    assert len(got.content) > 0
    assert "attachment" in got.headers.get("content-disposition", "")
    assert "downloads/{token}" in edge.access_log.read_text()  # the token itself is not logged


@pytest.mark.distributed
def test_internal_routes_are_404_through_nginx(edge: Edge) -> None:
    for path in ("/internal", "/internal/auth/users/1/spending-profile"):
        response = httpx.get(
            edge.url + path,
            headers={"x-koepon-internal": edge.stack.env["KOEPON_INTERNAL_TOKEN"]},
            timeout=5,
        )
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
        assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.distributed
def test_nginx_answers_429_beyond_its_limits(edge: Edge, http: httpx.Client) -> None:
    """Last in this module: it spends this address's allowance."""
    logins = [
        http.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x"})
        for _ in range(LOGIN_BURST + 3)
    ]
    assert logins[0].status_code == 401  # reached the auth service
    refused = [r for r in logins if r.status_code == 429]
    assert refused, [r.status_code for r in logins]
    assert refused[0].json()["code"] == "rate_limited"
    assert refused[0].headers["retry-after"] == "1"
    assert refused[0].headers["x-content-type-options"] == "nosniff"

    # The per-address limit on the rest of the API (a burst well past API_BURST at once).
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: http.get("/api/v1/gachas").status_code, range(3 * API_BURST))
        )
    assert 429 in answers and 200 in answers, answers
    # Probes are not metered.
    assert http.get("/healthz").status_code == 200
