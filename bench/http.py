"""Request pipeline cost: the platform's public cached read (``GET /api/v1/medal-packs``) and a
signed-in read (``GET /api/v1/wallet``) next to a bare FastAPI hello-world, in one run.

Each server runs in its own process under uvicorn (one worker, the same settings: uvloop,
httptools, no access log from uvicorn itself); the platform is started by ``koepon serve`` with
its own logging on, rate limits raised far above the load, on the embedded default and on
PostgreSQL + Redis (a throwaway database, migrated and seeded; the demo fan gets medals from an
operator grant). The load comes from other processes: ``wrk`` finds each endpoint's maximum
rate (closed loop, ``CONNECTIONS`` keep-alive connections), then ``bench.load`` sends half that
rate on a fixed schedule (open loop) and reports p50/p99 from when each request was due.
Without wrk (and no root to install it from Debian) ``bench.load`` finds the maximum too; the
hello row shows both clients so one can see the client is not the bottleneck.

Targets (issue 7): catalog ≥ 0.8 of hello, wallet ≥ 0.3, p99 ≤ 25 ms at half the maximum.
``python -m bench http`` (also run by ``make bench``); KOEPON_BENCH_SECONDS is the time per
measurement (default 4; a whole run stays under ~3 minutes), KOEPON_BENCH_PG_DSN the
PostgreSQL server, KOEPON_BENCH_REDIS_URL the Redis database (flushed before and after).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import redis

SECONDS = float(os.environ.get("KOEPON_BENCH_SECONDS", "4"))
PG_DSN = os.environ.get("KOEPON_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("KOEPON_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
CONNECTIONS = 16
# Open loop: enough connections that a slow answer never holds back the schedule by itself.
OPEN_LOOP_CONNECTIONS = 64
RAISED_LIMIT = "1000000/minute"
CATALOG = "/api/v1/medal-packs"
WALLET = "/api/v1/wallet"
HELLO = "/hello"
FAN = ("fan@demo.koepon.jp", "koepon-demo")
ADMIN = ("admin@demo.koepon.jp", "koepon-demo")
PYTHON = sys.executable
BIN = Path(PYTHON).parent


@dataclass
class Row:
    endpoint: str
    backend: str
    max_rate: float
    p50_ms: float
    p99_ms: float
    half_rate: float
    errors: int
    # The server process's CPU time per request at the maximum rate: unlike req/s it hardly
    # moves when other work shares the machine's cores.
    cpu_ms: float


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str], probe: str) -> Iterator[int]:
    """Run ``command`` until the block ends; ready when ``probe`` answers 200."""
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{command[0]} exited: {log.read().decode()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(probe, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{probe} never answered")
            time.sleep(0.2)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wrk() -> str | None:
    """wrk from Debian, installed once when missing and we are root (else the Python client)."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if subprocess.run(["apt-get", "install", "-y", "wrk"], **quiet, check=False).returncode:
        subprocess.run(["apt-get", "update"], **quiet, check=False)
        subprocess.run(["apt-get", "install", "-y", "wrk"], **quiet, check=False)
    return shutil.which("wrk")


def _header_args(token: str | None, flag: str) -> list[str]:
    return [flag, f"Authorization: Bearer {token}"] if token else []


def _load(url: str, token: str | None, *, rate: float | None, connections: int) -> dict[str, float]:
    command = [PYTHON, "-m", "bench.load", url, "--seconds", str(SECONDS)]
    command += ["--connections", str(connections), *_header_args(token, "-H")]
    if rate is not None:
        command += ["--rate", f"{rate:.0f}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def _wrk_rate(wrk: str, url: str, token: str | None, seconds: float) -> tuple[float, int]:
    command = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", *_header_args(token, "-H"), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    if rate is None:
        raise RuntimeError(f"wrk said: {out}")
    return float(rate.group(1)), int(bad.group(1)) if bad else (1 if errors else 0)


def _measure(
    wrk: str | None, url: str, token: str | None, endpoint: str, backend: str, pid: int
) -> Row:
    if wrk:
        _wrk_rate(wrk, url, token, 1)  # warm-up: caches filled, connections pooled
        cpu_before = _cpu_seconds(pid)
        max_rate, errors = _wrk_rate(wrk, url, token, SECONDS)
        cpu = _cpu_seconds(pid) - cpu_before
        requests = max_rate * SECONDS
    else:
        cpu_before = _cpu_seconds(pid)
        closed = _load(url, token, rate=None, connections=CONNECTIONS)
        cpu = _cpu_seconds(pid) - cpu_before
        max_rate, errors = closed["rate"], int(closed["errors"])
        requests = max_rate * (SECONDS + 1)  # the client's warm-up second costs CPU too
    half = _load(url, token, rate=max_rate / 2, connections=OPEN_LOOP_CONNECTIONS)
    row = Row(
        endpoint,
        backend,
        max_rate,
        half["p50_ms"],
        half["p99_ms"],
        half["rate"],
        errors + int(half["errors"]),
        cpu * 1000 / max(requests, 1),
    )
    print(
        f"  {endpoint:<8} {backend:<9} {max_rate:>8.0f} req/s ({row.cpu_ms:.2f} CPU ms each)   "
        f"at {half['rate']:.0f} req/s: p50 {half['p50_ms']:.1f} ms, p99 {half['p99_ms']:.1f} ms",
        file=sys.stderr,
        flush=True,
    )
    return row


def _sign_in(base: str) -> str:
    """The demo fan's access token, after an operator granted the fan medals (lots to show)."""
    with httpx.Client(base_url=base, timeout=30) as http:

        def login(email: str, password: str) -> str:
            response = http.post("/api/v1/auth/login", json={"email": email, "password": password})
            response.raise_for_status()
            return str(response.json()["access_token"])

        fan, admin = login(*FAN), login(*ADMIN)
        me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {fan}"})
        me.raise_for_status()
        grant = http.post(
            f"/api/v1/admin/wallets/{me.json()['id']}/grants",
            json={"medals": 500, "reason": "benchmark"},
            headers={"Authorization": f"Bearer {admin}", "Idempotency-Key": "bench-grant"},
        )
        grant.raise_for_status()
        return fan


def _platform_rows(wrk: str | None, backend: str, env: dict[str, str]) -> list[Row]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "koepon"), "serve", "--seed", "--port", str(port)]
    env = {
        **env,
        "KOEPON_RATE_LIMIT_PER_IP": RAISED_LIMIT,
        "KOEPON_RATE_LIMIT_PER_USER": RAISED_LIMIT,
        "KOEPON_ENVIRONMENT": "development",
    }
    with _server(command, env, base + "/healthz") as pid:
        token = _sign_in(base)
        return [
            _measure(wrk, base + CATALOG, None, "catalog", backend, pid),
            _measure(wrk, base + WALLET, token, "wallet", backend, pid),
        ]


async def _create_database() -> str:
    name = f"koepon_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _distributed_rows(wrk: str | None, data_dir: Path) -> list[Row]:
    database = asyncio.run(_create_database())
    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    server = PG_DSN.split("://", 1)[1].rsplit("/", 1)[0]
    try:
        return _platform_rows(
            wrk,
            "postgres",
            {
                "KOEPON_DATA_DIR": str(data_dir),
                "KOEPON_DATABASE_URL": f"postgresql+asyncpg://{server}/{database}",
                "KOEPON_REDIS_URL": REDIS_URL,
            },
        )
    finally:
        cache.flushdb()
        cache.close()
        asyncio.run(_drop_database(database))


def _print_table(hello: Row, rows: list[Row], python_hello: float | None) -> None:
    print(f"\nHTTP pipeline (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(
        f"{'endpoint':<10}{'backend':<10}{'req/s':>8}{'× hello':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'at req/s':>10}{'errors':>8}{'CPU ms':>8}{'CPU × hello':>13}"
    )
    for row in [hello, *rows]:
        print(
            f"{row.endpoint:<10}{row.backend:<10}{row.max_rate:>8.0f}"
            f"{row.max_rate / hello.max_rate:>9.2f}{row.p50_ms:>9.1f}{row.p99_ms:>9.1f}"
            f"{row.half_rate:>10.0f}{row.errors:>8}{row.cpu_ms:>8.2f}"
            f"{hello.cpu_ms / row.cpu_ms if row.cpu_ms else 0:>13.2f}"
        )
    print("CPU × hello: hello's server CPU time per request over this one's. With the cores to")
    print("itself it is close to the req/s ratio; unlike req/s it barely moves under other load.")
    if python_hello is not None:
        print(f"hello with the Python client instead of wrk: {python_hello:.0f} req/s")
    verdicts = []
    for row in rows:
        target = 0.8 if row.endpoint == "catalog" else 0.3
        ok = row.max_rate / hello.max_rate >= target and row.p99_ms <= 25
        verdicts.append(f"{row.endpoint}/{row.backend} {'meets' if ok else 'misses'}")
    print("targets (catalog ≥ 0.8, wallet ≥ 0.3, p99 ≤ 25 ms): " + ", ".join(verdicts))


def main() -> None:
    wrk = _wrk()
    print(f"bench http: load from {'wrk' if wrk else 'bench.load'}", file=sys.stderr)
    port = _free_port()
    hello_app = [PYTHON, "-m", "uvicorn", "bench.hello:app", "--port", str(port)]
    hello_app += ["--log-level", "warning", "--no-access-log"]
    hello_url = f"http://127.0.0.1:{port}{HELLO}"
    python_hello = None
    with _server(hello_app, {}, hello_url) as pid:
        hello = _measure(wrk, hello_url, None, "hello", "-", pid)
        if wrk:
            python_hello = _load(hello_url, None, rate=None, connections=CONNECTIONS)["rate"]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="koepon-bench-") as tmp:
        rows += _platform_rows(wrk, "embedded", {"KOEPON_DATA_DIR": str(Path(tmp, "embedded"))})
        rows += _distributed_rows(wrk, Path(tmp, "distributed"))
    _print_table(hello, rows, python_hello)


if __name__ == "__main__":
    main()
