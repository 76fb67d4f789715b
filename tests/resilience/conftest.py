"""The fault-injection stack: auth, payment, a worker and the gateway as OS processes, on a
Redis and a PostgreSQL this suite starts itself (so it may kill them) and behind a TCP link to
RabbitMQ it can cut. Every experiment breaks one thing, watches the answers, mends it, and
leaves the stack healthy for the next."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kernel.test_delivery import FlakyLink
from koepon.kernel.bus.rabbitmq import delete_topology
from process_stack import Process, every_consumer, free_port, start_process, wait_healthy

from .servers import PostgresCluster, RedisServer

AMQP_HOST, AMQP_PORT = "127.0.0.1", 5672
AMQP_URL = os.environ.get("KOEPON_TEST_AMQP_URL", f"amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/")
SERVICES = ("auth", "payment")
# Small, so the experiments trip bulkheads, timeouts and breakers in seconds.
GATEWAY_SETTINGS = {
    "KOEPON_GATEWAY_UPSTREAM_TIMEOUTS": json.dumps({"payment": 3}),
    "KOEPON_GATEWAY_UPSTREAM_MAX_CONCURRENT": "20",
    "KOEPON_GATEWAY_UPSTREAM_QUEUE_SECONDS": "0.5",
    "KOEPON_GATEWAY_BREAKER_FAILURES": "3",
    "KOEPON_GATEWAY_BREAKER_RESET_SECONDS": "2",
}


class BrokerLink:
    """A TCP link in front of RabbitMQ (the kernel tests' FlakyLink) on a thread of its own,
    so that synchronous fixtures and async tests alike can cut it and mend it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.link = FlakyLink(AMQP_HOST, AMQP_PORT)
        self.link.port = free_port()

    def _run(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.link.port}/"

    def up(self) -> None:
        self._run(self.link.up())

    def down(self) -> None:
        self._run(self.link.down())

    def close(self) -> None:
        if self.link.server is not None:
            self.down()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@dataclass
class Stack:
    gateway: str
    env: dict[str, str]
    logs: Path
    redis: RedisServer
    postgres: PostgresCluster
    broker: BrokerLink
    exchange: str
    database: str
    processes: dict[str, Process] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def internal(self) -> dict[str, str]:
        return {"x-koepon-internal": self.env["KOEPON_INTERNAL_TOKEN"]}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> None:
        """Start (or start again) one process; services and the gateway until healthy."""
        if name == "worker":
            self.processes[name] = start_process(name, ["worker"], self.env, self.logs)
            return
        args = ["serve", "--service", name, "--port", str(self.ports[name])]
        env = dict(self.env)
        if name == "gateway":
            env.update(GATEWAY_SETTINGS)
        # A restarted process appends to its log, so earlier answers stay on record.
        previous = self.logs / f"{name}.log"
        if previous.exists():
            previous.rename(self.logs / f"{name}.{uuid.uuid4().hex[:6]}.log")
        process = start_process(name, args, env, self.logs)
        process.url = self.url(name)
        self.processes[name] = process
        wait_healthy(process)

    def server_errors(self) -> list[dict[str, object]]:
        """Every 500 any process answered, from every access log it wrote (restarts included)."""
        found = []
        for log in self.logs.glob("*.log"):
            for line in log.read_text(errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if (
                    isinstance(record, dict)
                    and record.get("event") == "http.access"
                    and record.get("status") == 500
                ):
                    found.append({"log": log.name, **record})
        return found


async def _create_database(dsn: str, name: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("resilience")
    redis, postgres, broker = RedisServer(), PostgresCluster(), BrokerLink()
    exchange = f"koepon.resilience.{uuid.uuid4().hex[:8]}"
    database = "koepon"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ports = {name: free_port() for name in (*SERVICES, "gateway")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOEPON_")}
    stack = Stack(
        gateway=f"http://127.0.0.1:{ports['gateway']}",
        env=env,
        logs=logs,
        redis=redis,
        postgres=postgres,
        broker=broker,
        exchange=exchange,
        database=database,
        ports=ports,
    )
    try:
        redis.start()
        postgres.init()
        asyncio.run(_create_database(postgres.dsn, database))
        broker.up()
        env.update(
            {
                "KOEPON_ENVIRONMENT": "test",
                "KOEPON_DATA_DIR": str(logs / "data"),
                "KOEPON_DATABASE_URL": postgres.url(database),
                "KOEPON_REDIS_URL": redis.url,
                "KOEPON_AMQP_URL": broker.url,
                "KOEPON_AMQP_EXCHANGE": exchange,
                "KOEPON_SERVICE_URLS": json.dumps({name: stack.url(name) for name in SERVICES}),
                "KOEPON_INTERNAL_TOKEN": "resilience-" + uuid.uuid4().hex,
                "KOEPON_JWT_PRIVATE_KEY": pem.decode(),
                "KOEPON_PUBLIC_URL": stack.gateway,
                "KOEPON_RELAY_POLL_SECONDS": "0.2",
                # Signing keys go stale within a test, so an auth outage outlives them.
                "KOEPON_JWKS_REFRESH_SECONDS": "1",
                "KOEPON_LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        seeded = subprocess.run(
            [sys.executable, "-m", "koepon.cli", "seed"],
            env=env,
            capture_output=True,
            timeout=180,
        )
        assert seeded.returncode == 0, seeded.stdout.decode() + seeded.stderr.decode()
        for name in (*SERVICES, "gateway", "worker"):
            stack.start(name)
        yield stack
    finally:
        for process in stack.processes.values():
            process.stop()
        broker.close()
        redis.stop()
        postgres.destroy()
        asyncio.run(delete_topology(AMQP_URL, exchange, every_consumer()))


@pytest.fixture
def started_at() -> float:
    return time.monotonic()


async def wait_for_status(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    status: int,
    *,
    within: float = 30.0,
    **kwargs: Any,
) -> httpx.Response:
    """Repeat a request until it answers ``status`` (a client retrying after an outage)."""
    deadline = time.monotonic() + within
    while True:
        try:
            response = await http.request(method, path, **kwargs)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == status:
            return response
        if time.monotonic() > deadline:
            last = "no answer" if response is None else f"{response.status_code} {response.text}"
            raise AssertionError(f"{method} {path} never answered {status}; last: {last}")
        await asyncio.sleep(0.25)
