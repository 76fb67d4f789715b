"""Two replicas of everything, one of each killed mid-run: draws and purchases stay exact.

Every service, the gateway and the workers run twice, as separate ``koepon`` processes on
loopback ports, against one database, Redis and RabbitMQ, as the Kubernetes manifests deploy
them (two pods each at least). Two nginx processes stand where production has its parts:

- the edge (deploy/nginx/koepon.conf.template) with both replicas of each service in its
  upstreams; it skips a replica that refuses the connection (``proxy_next_upstream``), and
- the cluster's Services: one stable address per service that ``KOEPON_SERVICE_URLS`` and the
  sandbox's webhook URL name, balancing over that service's replicas, as a ClusterIP Service
  does over its ready pods (``http://payment`` in deploy/k8s/base/configmap.yaml). The gateway
  and the services reach each other only through these, never a replica's own address.

Sixteen fans buy medals through the sandbox and draw at once (half through the edge, half
through the gateway, as the Ingress sends them), each request with its Idempotency-Key and
retried with the same key on a dropped connection or a 5xx, as a real client does. Once a
fifth of their work is done, while purchases and draws are under way, one replica each of
gacha, payment, the gateway and the draw workers is SIGKILLed. When the survivors' recovery
has finished (waited for as a condition), every fan's balance is exactly what they bought
less what their completed draws cost, every key made one draw (or was refused before any),
every draw was charged once or not at all, every payment credited once, the box's stock
matches what was drawn from it, nothing answered 500, and ``koepon audit ledger`` passes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.nginx_conf import (
    cluster_services_conf,
    nginx_binary,
    start_nginx,
    stop_nginx,
    values,
    wait_answering,
    write_prefix,
)
from koepon.kernel.settings import SERVICES
from process_stack import (
    PASSWORD,
    Process,
    backing,
    free_port,
    one_off,
    run_to_end,
    serve,
    signup,
    start_process,
    wait_healthy,
)
from resilience.servers import PostgresCluster
from worker_share import redis_url

pytestmark = pytest.mark.distributed

REDIS_URL = os.environ.get("KOEPON_TEST_FAILOVER_REDIS_URL") or redis_url("failover")
SERVING = (*SERVICES, "gateway")
REPLICAS = (1, 2)
FANS = 16
KILLED = ("gacha-1", "payment-1", "gateway-1", "worker-1")
# What a fan does, in order: buy a pack (1,100 medals + 50 bonus), draw the weighted gacha
# (300) or the box of 30 (500; sixteen fans want 32, so some are refused as sold out).
PLAN = ("buy", "draw", "box", "buy", "draw", "box", "draw")
# A client gives up retrying one request after this long (the test then fails).
RETRY_SECONDS = 60.0
# The survivors finish what the killed replicas left (stale draws, owed webhooks) within this.
SETTLE_SECONDS = 90.0
# Quick recovery, so the run stays short: a draw untouched 3 s is taken over, sweeps every 1 s,
# an idempotency claim of a dead process blocks a retry for 3 s.
RECOVERY_ENV = {
    "KOEPON_DRAW_STALE_SECONDS": "3",
    "KOEPON_DRAW_RECOVERY_SECONDS": "1",
    "KOEPON_IDEMPOTENCY_LOCK_SECONDS": "3",
    "KOEPON_RELAY_POLL_SECONDS": "0.2",
    "KOEPON_GACHA_PAYMENT_BREAKER_RESET_SECONDS": "2",
    "KOEPON_GATEWAY_BREAKER_RESET_SECONDS": "2",
    "KOEPON_SANDBOX_WEBHOOK_RETRY_FIRST_SECONDS": "0.5",
    "KOEPON_SANDBOX_WEBHOOK_RETRY_MAX_SECONDS": "2",
    # Every fan comes from 127.0.0.1: the per-address limits are not under test here.
    "KOEPON_RATE_LIMIT_PER_IP": "100000/minute",
    "KOEPON_RATE_LIMIT_PER_USER": "100000/minute",
}
# How a draw may end without items here (nothing spent); EARLY marks one refused at the door.
REFUSALS = ("box_sold_out", "insufficient_medals", "payment_unavailable")
EARLY = "early:"
EDGE_LIMITS = {
    "API_RATE": "10000r/s",
    "API_BURST": "10000",
    "LOGIN_RATE": "10000r/s",
    "LOGIN_BURST": "1000",
}


@dataclass
class Cluster:
    edge: str
    gateway: str
    env: dict[str, str]
    dsn: str
    logs: Path
    processes: dict[str, Process] = field(default_factory=dict)

    def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.dsn)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        return asyncio.run(run())

    def logs_of(self, *names: str) -> str:
        return "\n".join(f"--- {n}\n{self.processes[n].tail()}" for n in names)


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Cluster]:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed and could not be: run `bash scripts/ensure-nginx`")
    logs = tmp_path_factory.mktemp("failover")
    # A PostgreSQL of its own: fourteen processes' pools would take most of the shared server's
    # connections (production puts PgBouncer in front of its database for the same reason).
    postgres = PostgresCluster()
    postgres.init()
    request.addfinalizer(postgres.destroy)
    replica_ports = {(name, n): free_port() for name in SERVING for n in REPLICAS}
    service_ports = {name: free_port() for name in SERVING}
    edge_port = free_port()
    replicas = {name: [f"127.0.0.1:{replica_ports[name, n]}" for n in REPLICAS] for name in SERVING}
    address = {name: f"http://127.0.0.1:{service_ports[name]}" for name in SERVING}
    edge_url = f"http://127.0.0.1:{edge_port}"
    pg_host = postgres.dsn.split("//", 1)[1].rsplit("/", 1)[0]
    with backing("failover", REDIS_URL, admin_dsn=postgres.dsn, pg_host=pg_host) as stores:
        env = stores.env(
            data_dir=logs / "data",
            service_urls={name: address[name] for name in SERVICES},
            public_url=edge_url,
            internal_token="failover-" + uuid.uuid4().hex,
        )
        env.update(RECOVERY_ENV)
        # The sandbox posts its webhooks to the payment Service, not to the replica that took
        # the payment (which may be the one killed).
        env["KOEPON_SANDBOX_WEBHOOK_URL"] = f"{address['payment']}/api/v1/webhooks/sandbox"
        cluster = Cluster(edge_url, address["gateway"], env, stores.dsn, logs)
        prefix = logs / "nginx"
        nginxes: list[subprocess.Popen[bytes]] = []
        # Demo data (packs, the live gachas) and every schema first, so that no two replicas
        # race to create the development keys under the shared data directory.
        seed = one_off(["seed"], env)
        try:
            edge_conf = write_prefix(
                prefix, values(f"127.0.0.1:{edge_port}", replicas, "logs/access.log", **EDGE_LIMITS)
            )
            services_conf = prefix / "services.conf"
            services_conf.write_text(cluster_services_conf(service_ports, replicas))
            nginxes += [start_nginx(binary, prefix, edge_conf)]
            nginxes += [start_nginx(binary, prefix, services_conf)]
            # The gateways need no database: they start while the demo data is written.
            for name in ("gateway", *SERVICES):
                if name != "gateway" and seed.returncode is None:
                    run_to_end(seed, "koepon seed")
                for n in REPLICAS:
                    label = f"{name}-{n}"
                    port = replica_ports[name, n]
                    cluster.processes[label] = serve(label, name, port, env, logs)
            for n in REPLICAS:  # the draw workers (the draw queue), as gacha-worker in k8s
                cluster.processes[f"worker-{n}"] = start_process(
                    f"worker-{n}", ["worker", "--service", "gacha"], env, logs
                )
            for process in cluster.processes.values():
                if process.url:
                    wait_healthy(process, seconds=120)
            wait_answering(nginxes[0], prefix, edge_conf, f"{edge_url}/healthz")
            wait_answering(nginxes[1], prefix, services_conf, f"{address['gateway']}/healthz")
            yield cluster
        finally:
            if seed.poll() is None:
                seed.kill()
                seed.wait()
            for nginx in nginxes:
                stop_nginx(nginx)
            for process in cluster.processes.values():
                process.stop()


# --- a fan, as a real client ------------------------------------------------------------------


def _final_refusal(response: httpx.Response) -> bool:
    """A draw that ended without items answers its refusal again on a retry (e.g. 503
    payment_unavailable): final, not something to retry."""
    try:
        return "draw_id" in response.json()
    except ValueError:
        return False


def _retryable(response: httpx.Response) -> bool:
    if response.status_code >= 500:
        return not _final_refusal(response)
    if response.status_code == 429:
        return True
    if response.status_code == 409:
        return response.json().get("code") == "idempotency_in_flight"
    return False


@dataclass
class Fan:
    base_url: str
    email: str
    http: httpx.Client = field(init=False)
    auth: dict[str, str] = field(default_factory=dict)
    user_id: str = ""
    checkouts: list[str] = field(default_factory=list)
    draw_keys: list[str] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)  # draw key → final status or code
    retries: int = 0

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=20)

    def send(
        self, method: str, path: str, *, key: str | None = None, body: Any = None
    ) -> httpx.Response:
        """The same request, with the same Idempotency-Key, until it gets a real answer."""
        headers = dict(self.auth)
        if key is not None:
            headers["idempotency-key"] = key
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            response: httpx.Response | None
            try:
                response = self.http.request(method, path, json=body, headers=headers)
            except httpx.TransportError:
                response = None
            if response is not None and not _retryable(response):
                return response
            last = "no answer" if response is None else f"{response.status_code} {response.text}"
            assert time.monotonic() < deadline, f"{method} {path}: never answered; last {last}"
            self.retries += 1
            time.sleep(0.25)

    def sign_in(self) -> None:
        created = signup(self.http, self.email)
        assert created.status_code == 201, created.text
        login = self.send(
            "POST", "/api/v1/auth/login", body={"email": self.email, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        self.auth = {"authorization": f"Bearer {login.json()['access_token']}"}
        me = self.send("GET", "/api/v1/me")
        assert me.status_code == 200, me.text
        self.user_id = me.json()["id"]

    def buy(self, pack_id: str) -> None:
        made = self.send(
            "POST",
            "/api/v1/checkouts",
            key=uuid.uuid4().hex,
            body={"pack_id": pack_id, "provider": "sandbox"},
        )
        assert made.status_code == 201, made.text
        checkout_id = made.json()["id"]
        self.checkouts.append(checkout_id)
        paid = self.send(
            "POST", f"/sandbox/checkouts/{checkout_id}/complete", body={"outcome": "succeeded"}
        )
        # A retry after a dropped answer finds the payment already made: that is success too.
        already = paid.status_code == 409 and paid.json().get("payment_status") == "succeeded"
        assert paid.status_code == 200 or already, paid.text

    def draw(self, gacha_id: str) -> None:
        key = uuid.uuid4().hex
        self.draw_keys.append(key)
        made = self.send("POST", f"/api/v1/gachas/{gacha_id}/draws", key=key, body={"count": 1})
        if made.status_code == 202:
            draw_id = made.json()["id"]
            deadline = time.monotonic() + SETTLE_SECONDS
            while True:
                polled = self.send("GET", f"/api/v1/draws/{draw_id}")
                assert polled.status_code == 200, polled.text
                if polled.json()["status"] in ("completed", "refused", "voided"):
                    self.outcomes[key] = polled.json()["status"]
                    return
                assert time.monotonic() < deadline, f"draw {draw_id} never ended: {polled.text}"
                time.sleep(0.5)
        if made.status_code == 200:
            self.outcomes[key] = made.json()["status"]
            return
        # Refused, nothing spent: sold out, or (rarely) payment unreachable for too long. A
        # refusal without a draw id was decided before any draw was written (the early check).
        assert made.status_code in (402, 409, 503), made.text
        refusal = made.json()
        assert refusal["code"] in REFUSALS, made.text
        self.outcomes[key] = refusal["code"] if "draw_id" in refusal else EARLY + refusal["code"]


class Progress:
    """What all fans have done and are doing; the test kills replicas once a share of the
    steps is done while purchases and draws are in flight."""

    def __init__(self) -> None:
        self.done = 0
        self.doing = {"buy": 0, "draw": 0, "box": 0}
        self.changed = threading.Condition()

    def step(self, step: str, delta: int) -> None:
        with self.changed:
            self.doing[step] += delta
            self.done += 1 if delta < 0 else 0
            self.changed.notify_all()

    def wait_for(self, steps: int, seconds: float) -> bool:
        """Until ``steps`` are done and at least two purchases and two draws are under way."""

        def ready() -> bool:
            busy = self.doing["buy"] >= 2 and self.doing["draw"] + self.doing["box"] >= 2
            return self.done >= steps and busy

        with self.changed:
            return self.changed.wait_for(ready, timeout=seconds)


def _run_fan(fan: Fan, pack_id: str, gachas: dict[str, str], progress: Progress) -> None:
    for step in PLAN:
        progress.step(step, +1)
        if step == "buy":
            fan.buy(pack_id)
        else:
            fan.draw(gachas[step])
        progress.step(step, -1)


# --- the test -----------------------------------------------------------------------------------


def test_draws_and_purchases_stay_exact_when_a_replica_of_each_is_killed(
    cluster: Cluster,
) -> None:
    from koepon.seed import demo_gacha_id

    gachas = {"draw": demo_gacha_id("luna-first"), "box": demo_gacha_id("luna-box")}
    with httpx.Client(base_url=cluster.edge, timeout=20) as http:
        packs = http.get("/api/v1/medal-packs").json()
    pack = next(p for p in packs if p["price_jpy"] == 1_100)
    medals_per_pack = pack["paid_medals"] + pack["bonus_medals"]

    # Half the fans come through the edge nginx, half through the gateway's Service.
    fans = [
        Fan(
            cluster.edge if i % 2 == 0 else cluster.gateway,
            f"fo-{i}-{uuid.uuid4().hex[:6]}@example.com",
        )
        for i in range(FANS)
    ]
    with ThreadPoolExecutor(FANS) as pool:
        list(pool.map(Fan.sign_in, fans))

        started = time.monotonic()
        progress = Progress()
        running = [pool.submit(_run_fan, fan, pack["id"], gachas, progress) for fan in fans]
        total = FANS * len(PLAN)
        assert progress.wait_for(total // 5, seconds=RETRY_SECONDS), [
            f.exception() for f in running if f.done()
        ]
        assert progress.done < total, "the run ended before the kill"
        for name in KILLED:
            cluster.processes[name].kill()
        killed_at = progress.done
        for future in running:
            future.result()  # a fan's assertion fails the test here
    run_seconds = time.monotonic() - started

    # The survivors finish what the killed replicas left: stale draws, owed webhooks, holds.
    def settled() -> bool:
        unfinished = cluster.query(
            "SELECT count(*) AS n FROM gacha.draws WHERE status IN ('accepted','drawn','voiding')"
        )[0]["n"]
        pending = cluster.query(
            "SELECT count(*) AS n FROM payment.medal_spends WHERE status = 'pending'"
        )[0]["n"]
        open_checkouts = cluster.query(
            "SELECT count(*) AS n FROM payment.checkouts WHERE status <> 'succeeded'"
        )[0]["n"]
        return unfinished == 0 and pending == 0 and open_checkouts == 0

    deadline = time.monotonic() + SETTLE_SECONDS
    while not settled():
        assert time.monotonic() < deadline, "the survivors never finished:\n" + cluster.logs_of(
            "gacha-2", "payment-2", "worker-2"
        )
        time.sleep(0.5)

    for name in KILLED:
        assert cluster.processes[name].popen.returncode == -9, name
    survivors = [n for n in cluster.processes if n not in KILLED]
    assert all(cluster.processes[n].popen.poll() is None for n in survivors), survivors

    # Every purchase credited once, every key one draw, every draw charged once or not at all.
    for fan in fans:
        wallet = fan.send("GET", "/api/v1/wallet")
        assert wallet.status_code == 200, wallet.text
        balance = wallet.json()["paid_medals"] + wallet.json()["free_medals"]
        lots = cluster.query(
            "SELECT source, medals FROM payment.medal_lots WHERE user_id = $1",
            fan.user_id,
        )
        # One paid lot and one bonus lot for each payment, none for anything else.
        sources = sorted(r["source"] for r in lots)
        assert len(fan.checkouts) == PLAN.count("buy"), fan.checkouts
        assert sources == sorted(["purchase", "purchase_bonus"] * len(fan.checkouts)), lots
        purchased = len(fan.checkouts) * medals_per_pack
        assert sum(r["medals"] for r in lots) == purchased, (fan.email, lots)
        draws = cluster.query(
            "SELECT id, idempotency_key, status, price_medals FROM gacha.draws WHERE user_id = $1",
            fan.user_id,
        )
        made = [k for k in fan.draw_keys if not fan.outcomes[k].startswith(EARLY)]
        assert sorted(d["idempotency_key"] for d in draws) == sorted(made), fan.email
        spends = {
            r["id"]: r
            for r in cluster.query(
                "SELECT id, status, posted_medals FROM payment.medal_spends WHERE user_id = $1",
                fan.user_id,
            )
        }
        spent = 0
        for d in draws:
            spend = spends.pop(f"draw-{d['id']}", None)
            if d["status"] == "completed":
                assert spend is not None and spend["status"] == "posted", (d, spend)
                assert spend["posted_medals"] == d["price_medals"], (d, spend)
                spent += d["price_medals"]
            else:  # refused (nothing held) or voided (held, then released)
                assert spend is None or spend["status"] == "voided", (d, spend)
        assert not spends, f"spends for no draw of {fan.email}: {spends}"
        assert balance == purchased - spent, (fan.email, balance, purchased, spent)

    # The box: what left it is exactly what completed draws took.
    stock = cluster.query(
        "SELECT sum(total) AS total, sum(remaining) AS remaining FROM gacha.gacha_box_stock "
        "WHERE gacha_id = $1",
        gachas["box"],
    )[0]
    drawn = cluster.query(
        "SELECT count(*) AS n FROM gacha.draw_slots s JOIN gacha.draws d ON d.id = s.draw_id "
        "WHERE s.gacha_id = $1 AND d.status = 'completed'",
        gachas["box"],
    )[0]["n"]
    assert stock["total"] - stock["remaining"] == drawn
    box_outcomes = [
        fan.outcomes[k]
        for fan in fans
        for k, step in zip(fan.draw_keys, [s for s in PLAN if s != "buy"], strict=True)
        if step == "box"
    ]
    assert box_outcomes.count("completed") == drawn

    audit = subprocess.run(
        [sys.executable, "-m", "koepon.cli", "audit", "ledger"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr

    # Both replicas served before the kill, and nothing answered 500 anywhere.
    for name in ("gacha", "payment"):
        for n in REPLICAS:
            served = [
                r
                for r in cluster.processes[f"{name}-{n}"].lines()
                if r.get("event") == "http.access"
            ]
            assert served, f"{name}-{n} served nothing"
    errors = [
        (name, r)
        for name, process in cluster.processes.items()
        for r in process.lines()
        if r.get("event") == "http.access" and r.get("status") == 500
    ]
    assert not errors, errors
    cut = [
        line
        for log in ("access.log", "services-access.log")
        for line in (cluster.logs / "nginx" / "logs" / log).read_text().splitlines()
        if '"status":502' in line or '" 502 ' in line
    ]
    print(
        f"\nfailover: {FANS} fans, killed {KILLED} after {killed_at} of {total} steps,"
        f" {len(cut)} requests cut (502 at nginx);"
        f" run {run_seconds:.1f} s, retries {sum(f.retries for f in fans)},"
        f" box drawn {drawn}, outcomes {sorted(set(o for f in fans for o in f.outcomes.values()))}"
    )
