"""The distributed platform as the README runs it by hand: migrate, seed the packs, then auth,
payment, the worker and the gateway as OS processes importing the chosen source tree."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.outage.infra import BrokerProxy, Postgres, Redis, free_port

LAUNCH = Path(__file__).with_name("launch.py")
SERVICES = ("auth", "payment")
# Ordinary limits would throttle the workload itself (every fan shares 127.0.0.1).
RAISED_LIMITS = {
    "KOEPON_RATE_LIMIT_PER_IP": "1000000/minute",
    "KOEPON_RATE_LIMIT_PER_USER": "1000000/minute",
    "KOEPON_LOGIN_ATTEMPTS_PER_WINDOW": "100000",
    "KOEPON_LOGIN_ATTEMPTS_PER_IP_WINDOW": "100000",
}


@dataclass
class Stack:
    src: Path
    logs: Path
    redis: Redis = field(default_factory=Redis)
    postgres: Postgres = field(default_factory=Postgres)
    broker: BrokerProxy = field(default_factory=BrokerProxy)
    exchange: str = field(default_factory=lambda: f"koepon.outage.{uuid.uuid4().hex[:8]}")
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    restarts: int = 0

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def build_env(self) -> None:
        self.ports = {name: free_port() for name in (*SERVICES, "gateway")}
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOEPON_")}
        env.update(RAISED_LIMITS)
        env.update(
            {
                "PYTHONPATH": str(self.src),
                "PYTHONUNBUFFERED": "1",
                "KOEPON_DATA_DIR": str(self.logs / "data"),
                "KOEPON_DATABASE_URL": self.postgres.url,
                "KOEPON_REDIS_URL": self.redis.url,
                "KOEPON_AMQP_URL": self.broker.url,
                "KOEPON_AMQP_EXCHANGE": self.exchange,
                "KOEPON_INTERNAL_TOKEN": uuid.uuid4().hex + uuid.uuid4().hex,
                "KOEPON_JWT_PRIVATE_KEY": pem.decode(),
                "KOEPON_SERVICE_URLS": json.dumps({name: self.url(name) for name in SERVICES}),
                "KOEPON_PUBLIC_URL": self.gateway,
                "KOEPON_RELAY_POLL_SECONDS": "0.2",
                "KOEPON_LOG_LEVEL": "INFO",
            }
        )
        self.env = env

    def servers(self) -> None:
        """The bench's own Redis and PostgreSQL, and the link to the broker."""
        self.logs.mkdir(parents=True, exist_ok=True)
        self.redis.start()
        self.postgres.init()
        self.broker.mend()
        self.build_env()

    def platform(self) -> None:
        """Schema, packs, processes: the platform ready for fans."""
        for command in (["migrate"], ["seed"]):
            done = self.cli(*command, timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"koepon {' '.join(command)} failed:\n{done.stdout[-3000:]}")
        for name in (*SERVICES, "worker", "gateway"):
            self.start(name)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """One ``koepon`` command against the stack (migrate, seed, audit ledger…)."""
        return subprocess.run(
            [sys.executable, "-m", "koepon.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.logs,
        )

    def start(self, name: str) -> None:
        """Start (or restart, as an orchestrator would) one process; servers until healthy."""
        args = ["worker"] if name == "worker" else ["serve", "--service", name]
        if name != "worker":
            args += ["--port", str(self.ports[name])]
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, str(LAUNCH), *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.logs,
        )
        log.close()
        if name != "worker":
            self.wait_healthy(name)

    def wait_healthy(self, name: str, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.logs / (name + '.log')}")
            try:
                if httpx.get(f"{self.url(name)}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} never became healthy; see {self.logs / (name + '.log')}")

    def queues(self) -> set[str]:
        """The broker queues the processes said they consume from (to delete them after)."""
        found = set()
        for log in self.logs.glob("*.log"):
            for line in log.read_text(errors="replace").splitlines():
                if '"queue"' not in line:
                    continue
                with contextlib.suppress(ValueError, AttributeError):
                    queue = json.loads(line).get("queue")
                    if isinstance(queue, str) and queue.startswith(self.exchange):
                        found.add(queue)
        return found

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.processes[name].send_signal(sig)
        if sig == signal.SIGKILL:
            self.processes[name].wait(timeout=10)

    def down(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.broker.close()
        self.redis.kill()
        self.postgres.destroy()
