"""Koepon's processes on loopback for the tests that run them as production does: each service,
the gateway and the workers a separate ``koepon`` OS process, on PostgreSQL, Redis and RabbitMQ.

Shared by tests/test_distributed_processes.py, tests/deploy/test_nginx_edge.py and
tests/deploy/test_replica_failover.py (and the resilience suite's processes): starting and
stopping processes with their environment, waiting until they are healthy, free ports, a
database/Redis/exchange set of their own, and each process's log in every failure message.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from worker_share import port_slice

PG_ADMIN_DSN = os.environ.get("KOEPON_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = os.environ.get("KOEPON_TEST_PG_HOST", "postgres@127.0.0.1:5432")
AMQP_URL = os.environ.get("KOEPON_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
START_SECONDS = 60
PASSWORD = "correct horse battery staple"
# How much of a process's log a failure message carries (its end, where the cause is).
LOG_TAIL_CHARS = 6000


# Ports handed out by ``free_port`` in this test process: never handed out twice.
_GIVEN_PORTS: set[int] = set()
# Where listening ports are picked: below the kernel's ephemeral range. A port the kernel picks
# (bind to port 0) lies inside that range, where any outgoing connection may take it as its local
# port before the process binds it, and the kernel may pick the same free port for two callers
# (one of the two processes then fails to bind while the other answers its health checks).
LISTEN_PORTS = range(20_000, 32_000)


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port() -> int:
    """A loopback port nothing listens on, outside the ephemeral range, not given before."""
    ports = port_slice(range(LISTEN_PORTS.start, min(LISTEN_PORTS.stop, _ephemeral_low())))
    for _ in range(500):
        port = random.choice(ports)
        if port in _GIVEN_PORTS:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN_PORTS.add(port)
        return port
    raise RuntimeError(f"no free port in {ports}")


async def admin_sql(sql: str, admin_dsn: str = PG_ADMIN_DSN) -> None:
    """One statement on the server's admin database (CREATE/DROP DATABASE)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_dsn(database: str, admin_dsn: str = PG_ADMIN_DSN) -> str:
    """asyncpg's DSN of ``database`` on the test server (for a test's own queries)."""
    return admin_dsn.rsplit("/", 1)[0] + "/" + database


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str | None = None

    def lines(self) -> list[dict[str, object]]:
        """The process's JSON log lines (anything else it printed is skipped)."""
        records = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-LOG_TAIL_CHARS:]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL, as a crashed pod or an OOM kill: no shutdown hook runs."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)


def start_process(name: str, args: list[str], env: dict[str, str], logs: Path) -> Process:
    """``koepon <args>`` in its own session (a signal to the test is not sent to it), its
    output in ``logs/<name>.log``."""
    log = logs / f"{name}.log"
    handle = log.open("wb")
    popen = subprocess.Popen(
        [sys.executable, "-m", "koepon.cli", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    return Process(name, popen, log)


def serve(name: str, service: str, port: int, env: dict[str, str], logs: Path) -> Process:
    """``koepon serve --service <service>`` on a loopback port (not yet waited for)."""
    process = start_process(name, ["serve", "--service", service, "--port", str(port)], env, logs)
    process.url = f"http://127.0.0.1:{port}"
    return process


def wait_healthy(process: Process, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited early:\n{process.tail()}")
        try:
            if httpx.get(f"{process.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{process.name} never became healthy:\n{process.tail()}")


def run_to_end(popen: subprocess.Popen[bytes], what: str, seconds: float = 180) -> None:
    """Wait for a one-off command (``migrate``, ``seed``) started with its output piped."""
    output, _ = popen.communicate(timeout=seconds)
    assert popen.returncode == 0, f"{what} failed:\n{output.decode(errors='replace')}"


def one_off(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A one-off ``koepon`` command started now (``run_to_end`` waits for it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "koepon.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def signing_key_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@dataclass(frozen=True)
class Backing:
    """One test module's own PostgreSQL database, Redis database and RabbitMQ exchange."""

    database: str
    exchange: str
    redis_url: str
    admin_dsn: str = PG_ADMIN_DSN
    pg_host: str = PG_HOST

    @property
    def dsn(self) -> str:
        return database_dsn(self.database, self.admin_dsn)

    def env(
        self,
        *,
        data_dir: Path,
        service_urls: dict[str, str],
        public_url: str,
        internal_token: str,
    ) -> dict[str, str]:
        """The environment every process of the stack shares (as one ConfigMap and Secret)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOEPON_")}
        env.update(
            {
                "KOEPON_ENVIRONMENT": "test",
                "KOEPON_DATA_DIR": str(data_dir),
                "KOEPON_DATABASE_URL": f"postgresql+asyncpg://{self.pg_host}/{self.database}",
                "KOEPON_REDIS_URL": self.redis_url,
                "KOEPON_AMQP_URL": AMQP_URL,
                "KOEPON_AMQP_EXCHANGE": self.exchange,
                "KOEPON_SERVICE_URLS": json.dumps(service_urls),
                "KOEPON_INTERNAL_TOKEN": internal_token,
                "KOEPON_JWT_PRIVATE_KEY": signing_key_pem(),
                "KOEPON_PUBLIC_URL": public_url,
                "KOEPON_LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env


@contextmanager
def backing(
    prefix: str, redis_url: str, *, admin_dsn: str = PG_ADMIN_DSN, pg_host: str = PG_HOST
) -> Iterator[Backing]:
    """A fresh database and exchange (and an emptied Redis database), removed afterwards; on
    the shared PostgreSQL server unless ``admin_dsn``/``pg_host`` name another."""
    stores = Backing(
        database=f"koepon_{prefix}_{uuid.uuid4().hex[:10]}",
        exchange=f"koepon.{prefix}.{uuid.uuid4().hex[:8]}",
        redis_url=redis_url,
        admin_dsn=admin_dsn,
        pg_host=pg_host,
    )
    redis_client = redis.Redis.from_url(redis_url)
    redis_client.flushdb()
    asyncio.run(admin_sql(f'CREATE DATABASE "{stores.database}"', admin_dsn))
    try:
        yield stores
    finally:
        redis_client.flushdb()
        redis_client.close()
        drop = f'DROP DATABASE IF EXISTS "{stores.database}" WITH (FORCE)'
        asyncio.run(admin_sql(drop, admin_dsn))
        from koepon.kernel.bus.rabbitmq import delete_topology

        # The child processes declared the queues: name them all, or they outlive the test.
        asyncio.run(delete_topology(AMQP_URL, stores.exchange, every_consumer()))


def every_consumer() -> list[str]:
    """The name of every event consumer the platform declares a queue for."""
    from koepon.app import consumer_names

    return consumer_names()


@dataclass
class Stack:
    gateway: str
    internal_token: str = ""
    processes: dict[str, Process] = field(default_factory=dict)
    database: str = ""
    env: dict[str, str] = field(default_factory=dict)
    logs: Path | None = None

    def restart(self, name: str) -> None:
        """Start service ``name`` again on its port (after ``stop``), and wait until healthy."""
        old = self.processes[name]
        assert old.url is not None and self.logs is not None
        port = int(old.url.rsplit(":", 1)[1])
        process = serve(name, name, port, self.env, self.logs)
        self.processes[name] = process
        wait_healthy(process)

    def access_log(self, name: str, request_id: str) -> list[dict[str, object]]:
        """The access-log lines of ``name`` for one request (a process logs after answering)."""
        deadline = time.monotonic() + 5
        while True:
            lines = [
                r
                for r in self.processes[name].lines()
                if r.get("event") == "http.access" and r.get("request_id") == request_id
            ]
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def wait_all_healthy(self) -> None:
        for process in self.processes.values():
            if process.url:
                wait_healthy(process)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.stop()


def signup(http: httpx.Client, email: str) -> httpx.Response:
    return http.post(
        "/api/v1/auth/signup",
        json={
            "email": email,
            "password": PASSWORD,
            "display_name": "Process Fan",
            "birthdate": "1990-04-01",
        },
    )
