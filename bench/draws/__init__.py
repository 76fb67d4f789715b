"""Draws through the public API on PostgreSQL + Redis + RabbitMQ, next to a bare hello-world
served the same way and to the same SQL run directly with asyncpg, in one run.

The platform runs as the README's distributed mode does on one machine: ``koepon serve`` (every
service and the gateway in one uvicorn process: it accepts draws and runs their sagas on its
fast path) and ``koepon worker`` processes (outbox relays and the draw queue's consumer), on a
throwaway PostgreSQL database, a flushed Redis database and a fresh RabbitMQ exchange. Gachas
are published and fans signed in and funded directly (``bench.draws.setup``), so only draws go
through HTTP: ``POST /api/v1/gachas/{id}/draws`` (a new ``Idempotency-Key`` each) and
``GET /api/v1/draws/{id}``.

Measured: accepted and completed draws/s at the maximum (closed loop) for single draws and
10連 with p50/p99 of the POST; p50/p99 at half the maximum single rate (open loop, from when
each request was due); a spike of 10,000 single draws in 10 s by 1,000 fans (every answer a
200/202, every draw completed exactly once, every wallet debited exactly, and the time to
drain); the accepted rate over the hello-world's; and the raw SQL's draws/s
(``bench.draws.raw``) with completed ÷ raw.

Targets: accepted ≥ 0.5 × hello; completed single draws/s ≥ 0.5 × raw; p99 ≤ 50 ms at half the
maximum; the spike drained ≤ 30 s. ``python -m bench draws`` or ``make bench BENCH=draws``
(about 3–4 minutes); KOEPON_BENCH_SECONDS (default 5) per measurement, KOEPON_BENCH_PG_DSN,
KOEPON_BENCH_REDIS_URL (flushed before and after), KOEPON_BENCH_AMQP_URL,
KOEPON_BENCH_SPIKE (default 10000 draws in 10 s), KOEPON_BENCH_WORKERS (worker processes,
default 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis
import uvloop
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.draws import raw
from bench.draws.client import Answer, Client, Request, percentile
from bench.http import PYTHON, _cpu_seconds, _free_port, _server
from bench.outage.infra import PG_BIN, Postgres

# The servers' own logs, kept after the run (a refusal or a 500 is explained there).
LOGS = Path(tempfile.gettempdir(), "koepon-bench-draws")

SECONDS = float(os.environ.get("KOEPON_BENCH_SECONDS", "5"))
# Unset: a PostgreSQL cluster of the benchmark's own (max_connections 400: the serving process
# and each worker open up to 100 connections, more than a default server allows, and other
# people's tests on the machine's shared server keep theirs).
PG_DSN = os.environ.get("KOEPON_BENCH_PG_DSN")
REDIS_URL = os.environ.get("KOEPON_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
AMQP_URL = os.environ.get("KOEPON_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
SPIKE = int(os.environ.get("KOEPON_BENCH_SPIKE", "10000"))
# Worker processes beside the server. One, as the README's distributed mode runs: with two on
# 2 cores the steady phases fell from 29 to 19 draws/s and the spike's accepts slowed (more
# processes on the cores), though the spike drained a little faster once accepted.
WORKERS = max(1, int(os.environ.get("KOEPON_BENCH_WORKERS", "1")))
SPIKE_SECONDS = 10.0
SPIKE_FANS = max(1, min(1_000, SPIKE // 10))  # ten draws each
CONNECTIONS = 32  # closed loop: enough in flight to keep the server and its pool busy
OPEN_LOOP_CONNECTIONS = 128
SPIKE_CONNECTIONS = 512
RAW_CONCURRENCY = CONNECTIONS
# How long a phase waits for its draws to complete (a spike the platform cannot drain within
# this is reported with what is left; the wallets of fans still drawing are not checked).
DRAIN_LIMIT = float(os.environ.get("KOEPON_BENCH_DRAIN_LIMIT", "120"))
FINAL = ("completed", "refused", "voided")
RICH = 10_000_000  # medals of a fan in the closed-loop phases: never short
LOAD_FANS = 200
RAW_FANS = 128
RAISED = {
    "KOEPON_RATE_LIMIT_PER_IP": "100000000/minute",
    "KOEPON_RATE_LIMIT_PER_USER": "100000000/minute",
    "KOEPON_ENVIRONMENT": "development",
}
TARGETS = "accepted ≥ 0.5 × hello; completed single ≥ 0.5 × raw; p99 ≤ 50 ms at half; spike ≤ 30 s"


def say(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


@dataclass
class Phase:
    name: str
    accepted: int = 0
    # By answer: "503 payment_unavailable" (status and the problem's code), "no answer".
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    completed_seconds: float = 0.0  # from the first request to the last draw completed
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    immediate: int = 0  # answered 200 with results (completed within the request's wait)
    cpu_ms: float = 0.0  # server + worker CPU time per accepted draw
    sample: str = ""  # the first refusal's body

    @property
    def accepted_rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    @property
    def completed_rate(self) -> float:
        return self.accepted / self.completed_seconds if self.completed_seconds else 0.0


@dataclass
class Stack:
    env: dict[str, str]
    gacha_dsn: str
    base: str = ""
    pids: list[int] = field(default_factory=list)


def _environment(dsn: str, data_dir: Path, exchange: str) -> dict[str, str]:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        **RAISED,
        "KOEPON_DATA_DIR": str(data_dir),
        "KOEPON_DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
        "KOEPON_REDIS_URL": REDIS_URL,
        "KOEPON_AMQP_URL": AMQP_URL,
        "KOEPON_AMQP_EXCHANGE": exchange,
        "KOEPON_JWT_PRIVATE_KEY": pem.decode(),
        "KOEPON_INTERNAL_TOKEN": uuid.uuid4().hex + uuid.uuid4().hex,
        "KOEPON_LOGIN_ATTEMPTS_PER_WINDOW": "100000",
        "KOEPON_LOGIN_ATTEMPTS_PER_IP_WINDOW": "100000",
    }


def _cli(env: dict[str, str], *args: str, timeout: float = 600) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "koepon.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"koepon {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def _setup(env: dict[str, str], out: Path) -> dict[str, Any]:
    groups = {
        "load": (LOAD_FANS, RICH),
        "multi": (LOAD_FANS, RICH),
        "raw": (RAW_FANS, RICH),
        "spike": (SPIKE_FANS, 0),  # funded below: exactly what their draws cost, and 1,000 more
    }
    per_fan = -(-SPIKE // SPIKE_FANS)
    specs = [
        f"{name}={count}:{medals or (per_fan + 10) * 100}"
        for name, (count, medals) in groups.items()
    ]
    command = [PYTHON, "-m", "bench.draws.setup", str(out)]
    for spec in specs:
        command += ["--fans", spec]
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"setup failed:\n{done.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(out.read_text())
    data["spike_medals"] = (per_fan + 10) * 100
    data["per_fan"] = per_fan
    return data


def _address(base: str) -> tuple[str, int]:
    host, port = base.split("//", 1)[1].rsplit(":", 1)
    return host, int(port)


def _draw(gacha_id: str, fan: dict[str, str], count: int) -> Request:
    return Request(
        "POST",
        f"/api/v1/gachas/{gacha_id}/draws",
        {"Authorization": f"Bearer {fan['token']}", "Idempotency-Key": uuid.uuid4().hex},
        {"count": count},
    )


async def _wait_completed(
    dsn: str, ids: set[str], since: float, *, gacha_id: str | None = None
) -> tuple[float, int]:
    """(seconds from ``since`` until every draw of ``ids`` — or of ``gacha_id`` — is final,
    how many are not) polling PostgreSQL; gives up ``DRAIN_LIMIT`` after ``since``."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "gacha"})
    try:
        wanted = list(ids)
        while True:
            if gacha_id is None:
                left = await conn.fetchval(
                    "SELECT count(*) FROM draws WHERE id = ANY($1::varchar[]) "
                    "AND status NOT IN ('completed', 'refused', 'voided')",
                    wanted,
                )
            else:
                left = await conn.fetchval(
                    "SELECT count(*) FROM draws WHERE gacha_id = $1 "
                    "AND status NOT IN ('completed', 'refused', 'voided')",
                    gacha_id,
                )
            now = time.perf_counter()
            if left == 0 or now - since > DRAIN_LIMIT:
                return now - since, int(left)
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


def _problem_code(body: bytes) -> str:
    try:
        return str(json.loads(body).get("code"))
    except (ValueError, AttributeError):
        return "?"


def _tally(phase: Phase, answers: list[Answer | BaseException]) -> set[str]:
    ids: set[str] = set()
    latencies = []
    for answer in answers:
        if isinstance(answer, BaseException):
            phase.errors["no answer"] += 1
            continue
        latencies.append(answer.ms)
        if answer.status in (200, 202):
            phase.accepted += 1
            phase.immediate += answer.status == 200
            ids.add(answer.json()["id"])
        else:
            phase.errors[f"{answer.status} {_problem_code(answer.body)}"] += 1
            phase.sample = phase.sample or answer.body.decode(errors="replace")[:300]
    phase.p50_ms, phase.p99_ms = percentile(latencies, 0.5), percentile(latencies, 0.99)
    return ids


async def _closed(
    stack: Stack, name: str, gacha_id: str, fans: list[dict[str, str]], count: int
) -> Phase:
    host, port = _address(stack.base)
    client = Client(host, port, CONNECTIONS)
    # Warm-up: connections, pools, caches, the fans' first draws (seed pairs, states).
    await asyncio.gather(*(client.send(_draw(gacha_id, fan, count)) for fan in fans[:64]))
    phase = Phase(name)
    cpu = sum(_cpu_seconds(pid) for pid in stack.pids)
    started = time.perf_counter()
    answers, phase.seconds = await client.closed_loop(
        lambda i: _draw(gacha_id, fans[i % len(fans)], count), SECONDS
    )
    ids = _tally(phase, list(answers))
    phase.completed_seconds, _left = await _wait_completed(stack.gacha_dsn, ids, started)
    phase.cpu_ms = (sum(_cpu_seconds(pid) for pid in stack.pids) - cpu) * 1000 / max(len(ids), 1)
    await client.close()
    say(
        f"{name}: {phase.accepted_rate:.0f} accepted/s, {phase.completed_rate:.0f} completed/s, "
        f"p50 {phase.p50_ms:.0f} ms, p99 {phase.p99_ms:.0f} ms, errors {dict(phase.errors)}"
        + (f" ({phase.sample})" if phase.sample else "")
    )
    return phase


async def _half(stack: Stack, gacha_id: str, fans: list[dict[str, str]], rate: float) -> Phase:
    host, port = _address(stack.base)
    client = Client(host, port, OPEN_LOOP_CONNECTIONS)
    requests = [_draw(gacha_id, fans[i % len(fans)], 1) for i in range(int(rate * SECONDS))]
    phase = Phase("single at half")
    started = time.perf_counter()
    answers, _sent = await client.open_loop(requests, rate)
    phase.seconds = time.perf_counter() - started
    ids = _tally(phase, answers)
    phase.completed_seconds, _left = await _wait_completed(stack.gacha_dsn, ids, started)
    await client.close()
    say(f"half: {rate:.0f}/s offered, p50 {phase.p50_ms:.0f} ms, p99 {phase.p99_ms:.0f} ms")
    return phase


@dataclass
class Spike:
    phase: Phase
    offered_seconds: float
    drain_seconds: float
    draws: int  # stored for the spike's gacha
    completed: int  # of them, completed
    unfinished: int  # draws still not final when the wait ended
    extra: int  # stored draws no accepted answer names (answered with an error, yet stored)
    not_completed_via_api: int  # accepted draws GET /api/v1/draws/{id} does not show completed
    wallets_checked: int  # fans whose draws are all final
    wallets_wrong: int  # of them, fans whose paid balance is not what their draws cost
    holds_left: int  # medal holds still pending


async def _spike(stack: Stack, data: dict[str, Any]) -> Spike:
    host, port = _address(stack.base)
    fans = data["fans"]["spike"]
    gacha_id = data["spike"]
    price = data["price"]
    requests = [_draw(gacha_id, fans[i % len(fans)], 1) for i in range(SPIKE)]
    client = Client(host, port, SPIKE_CONNECTIONS)
    phase = Phase("spike")
    started = time.perf_counter()
    answers, sent = await client.open_loop(requests, SPIKE / SPIKE_SECONDS)
    phase.seconds = time.perf_counter() - started
    ids = _tally(phase, answers)
    drained, unfinished_left = await _wait_completed(stack.gacha_dsn, ids, sent, gacha_id=gacha_id)
    # Checks: the draws as stored and as the fans see them, and the fans' wallets.
    conn = await asyncpg.connect(stack.gacha_dsn, server_settings={"search_path": "gacha"})
    try:
        rows = await conn.fetch(
            "SELECT id, status, user_id FROM draws WHERE gacha_id = $1", gacha_id
        )
        await conn.execute("SET search_path = payment")
        holds = await conn.fetchval(
            "SELECT count(*) FROM medal_spends WHERE status = 'pending' AND user_id = ANY($1)",
            [fan["id"] for fan in fans],
        )
    finally:
        await conn.close()
    stored = {row["id"]: row["status"] for row in rows}
    completed = Counter(row["user_id"] for row in rows if row["status"] == "completed")
    unfinished = {row["user_id"] for row in rows if row["status"] not in FINAL}
    # Answered 200: the answer itself shows the results; answered 202: ask as the fan would.
    lost = sum(
        1
        for answer in answers
        if isinstance(answer, Answer)
        and answer.status == 200
        and answer.json()["status"] != "completed"
    )
    shown = await asyncio.gather(
        *(
            client.send(
                Request("GET", f"/api/v1/draws/{draw_id}", {"Authorization": f"Bearer {token}"})
            )
            for draw_id, token in _owners(answers, requests, status=202)
        )
    )
    lost += sum(
        1 for answer in shown if answer.status != 200 or answer.json()["status"] != "completed"
    )
    settled = [fan for fan in fans if fan["id"] not in unfinished]
    wallets = await asyncio.gather(
        *(
            client.send(
                Request("GET", "/api/v1/wallet", {"Authorization": f"Bearer {fan['token']}"})
            )
            for fan in settled
        )
    )
    wrong = sum(
        1
        for fan, answer in zip(settled, wallets, strict=True)
        if answer.status != 200
        or answer.json()["paid_medals"] != data["spike_medals"] - price * completed[fan["id"]]
    )
    await client.close()
    say(
        f"spike: {phase.accepted} accepted of {SPIKE}, errors {dict(phase.errors)}, "
        f"{unfinished_left} unfinished {drained:.1f} s after the last request, "
        f"{lost} not completed via the API"
    )
    return Spike(
        phase,
        offered_seconds=sent - started,
        drain_seconds=drained,
        unfinished=unfinished_left,
        draws=len(rows),
        completed=sum(completed.values()),
        extra=len(set(stored) - ids),
        not_completed_via_api=lost,
        wallets_checked=len(settled),
        wallets_wrong=wrong,
        holds_left=holds,
    )


def _owners(
    answers: list[Answer | BaseException], requests: list[Request], *, status: int
) -> list[tuple[str, str]]:
    owners = []
    for answer, request in zip(answers, requests, strict=True):
        if isinstance(answer, Answer) and answer.status == status:
            token = request.headers["Authorization"].split(" ", 1)[1]
            owners.append((answer.json()["id"], token))
    return owners


async def _hello_rate(url: str) -> float:
    host, rest = url.split("//")[1].split(":", 1)
    port, path = int(rest.split("/", 1)[0]), "/" + rest.split("/", 1)[1]
    client = Client(host, port, CONNECTIONS)
    await client.send(Request("GET", path))
    answers, seconds = await client.closed_loop(lambda _i: Request("GET", path), SECONDS)
    await client.close()
    return sum(1 for a in answers if a.status == 200) / seconds


async def _measure(stack: Stack, data: dict[str, Any]) -> tuple[Phase, Phase, Phase, Spike]:
    single = await _closed(stack, "single", data["single"], data["fans"]["load"], 1)
    multi = await _closed(stack, "10連", data["multi"], data["fans"]["multi"], 10)
    half_rate = max(single.accepted_rate / 2, 1.0)
    half = await _half(stack, data["single"], data["fans"]["load"], half_rate)
    spike = await _spike(stack, data)
    return single, multi, half, spike


async def _raw(stack: Stack, data: dict[str, Any]) -> tuple[float, float]:
    """The same SQL straight to PostgreSQL, once the platform's processes have stopped (the
    machine and the server's connections to itself, as the platform had them)."""
    fans = [fan["id"] for fan in data["fans"]["raw"]]
    price = data["price"]
    single = await raw.throughput(
        stack.gacha_dsn,
        fans,
        data["single"],
        count=1,
        price=price,
        seconds=SECONDS,
        concurrency=RAW_CONCURRENCY,
    )
    multi = await raw.throughput(
        stack.gacha_dsn,
        fans,
        data["multi"],
        count=10,
        price=price * 10,
        seconds=SECONDS,
        concurrency=RAW_CONCURRENCY,
    )
    say(f"raw SQL: {single:.0f} single draws/s, {multi:.0f} 10連/s")
    return single, multi


def _report(
    hello: float,
    single: Phase,
    multi: Phase,
    half: Phase,
    spike: Spike,
    raw_single: float,
    raw_multi: float,
) -> None:
    load = os.getloadavg()[0]
    print(
        f"\nDraws through the API, PostgreSQL + Redis + RabbitMQ (load average {load:.1f}, "
        f"{os.cpu_count()} cores, {SECONDS:g} s per measurement)"
    )
    print(
        f"{'':<16}{'accepted/s':>11}{'completed/s':>12}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'200 at once':>12}{'errors':>8}{'CPU ms':>8}{'raw/s':>8}{'÷ raw':>7}{'÷ hello':>8}"
    )
    for phase, raw_rate in ((single, raw_single), (multi, raw_multi), (half, None)):
        line = (
            f"{phase.name:<16}{phase.accepted_rate:>11.0f}{phase.completed_rate:>12.0f}"
            f"{phase.p50_ms:>8.0f}{phase.p99_ms:>8.0f}{phase.immediate:>12}"
            f"{sum(phase.errors.values()):>8}"
        )
        if raw_rate:
            line += f"{phase.cpu_ms:>8.1f}{raw_rate:>8.0f}{phase.completed_rate / raw_rate:>7.2f}"
            line += f"{phase.accepted_rate / hello:>8.3f}"
        print(line)
    print(f"hello-world (same server settings, same client): {hello:.0f} req/s")
    print(
        f"spike: {SPIKE} draws offered over {spike.offered_seconds:.1f} s by {SPIKE_FANS} fans: "
        f"{spike.phase.accepted} accepted, errors {dict(spike.phase.errors) or 0}, p50 "
        f"{spike.phase.p50_ms:.0f} ms, p99 {spike.phase.p99_ms:.0f} ms; stored {spike.draws}, "
        f"completed {spike.completed}, stored though answered with an error {spike.extra}, "
        f"not completed via the API "
        f"{spike.not_completed_via_api}, wallets wrong "
        f"{spike.wallets_wrong} of {spike.wallets_checked} checked, holds left "
        f"{spike.holds_left}; "
        + (
            f"drained {spike.drain_seconds:.1f} s after the last request"
            if not spike.unfinished
            else f"NOT drained: {spike.unfinished} draws unfinished "
            f"{spike.drain_seconds:.1f} s after the last request"
        )
    )
    checks = [
        ("accepted single ≥ 0.5 × hello", single.accepted_rate / hello >= 0.5),
        ("completed single ≥ 0.5 × raw", single.completed_rate / raw_single >= 0.5),
        ("p99 ≤ 50 ms at half the maximum", half.p99_ms <= 50),
        ("spike drained ≤ 30 s", not spike.unfinished and spike.drain_seconds <= 30),
        (
            "spike: all accepted, completed once, wallets exact",
            spike.phase.accepted == SPIKE
            and spike.completed == SPIKE
            and spike.draws == SPIKE
            and spike.extra == 0
            and spike.not_completed_via_api == 0
            and spike.wallets_wrong == 0
            and spike.wallets_checked == SPIKE_FANS
            and spike.holds_left == 0,
        ),
    ]
    print("targets: " + "; ".join(f"{text}: {'met' if ok else 'MISSED'}" for text, ok in checks))


class OwnPostgres(Postgres):
    """The outage benchmark's throwaway cluster, with the server's usual durability (fsync on)
    and room for the platform's pools."""

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c max_connections=400"
        )
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start")


async def _create_database(server_dsn: str) -> str:
    name = f"koepon_bench_draws_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server_dsn.rsplit("/", 1)[0] + f"/{name}"


async def _drop_database(server_dsn: str, dsn: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.contextmanager
def _database() -> Iterator[str]:
    """A fresh database: on KOEPON_BENCH_PG_DSN's server, or in a cluster of our own."""
    if PG_DSN:
        dsn = asyncio.run(_create_database(PG_DSN))
        try:
            yield dsn
        finally:
            asyncio.run(_drop_database(PG_DSN, dsn))
        return
    cluster = OwnPostgres()
    try:
        cluster.init()
        yield cluster.dsn
    finally:
        cluster.destroy()


@contextlib.contextmanager
def _process(
    command: list[str], env: dict[str, str], log: Path, probe: str | None = None
) -> Iterator[int]:
    """Run ``command`` (its output kept in ``log``) until the block ends; ready when ``probe``
    answers 200."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while probe is not None:
                if process.poll() is not None:
                    raise RuntimeError(f"{command[3]} exited; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(probe, timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{probe} never answered; see {log}")
                time.sleep(0.2)
            yield process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> None:
    print("bench draws: PostgreSQL + Redis + RabbitMQ", file=sys.stderr, flush=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    hello_app = [PYTHON, "-m", "uvicorn", "bench.hello:app", "--port", str(port)]
    hello_app += ["--log-level", "warning", "--no-access-log"]
    hello_url = f"http://127.0.0.1:{port}/hello"
    with _server(hello_app, {}, hello_url):
        hello = uvloop.run(_hello_rate(hello_url))
    say(f"hello: {hello:.0f} req/s")
    exchange = f"koepon.bench.{uuid.uuid4().hex[:8]}"
    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    try:
        with (
            _database() as dsn,
            tempfile.TemporaryDirectory(prefix="koepon-bench-draws-") as tmp,
        ):
            env = _environment(dsn, Path(tmp, "data"), exchange)
            stack = Stack(env, dsn)
            _cli(env, "migrate")
            started = time.perf_counter()
            data = _setup(env, Path(tmp, "data.json"))
            say(
                f"set-up: 3 gachas, {sum(map(len, data['fans'].values()))} fans funded in "
                f"{time.perf_counter() - started:.0f} s"
            )
            serve_port = _free_port()
            stack.base = f"http://127.0.0.1:{serve_port}"
            serve = [PYTHON, "-m", "koepon.cli", "serve", "--port", str(serve_port)]
            worker = [PYTHON, "-m", "koepon.cli", "worker"]
            with contextlib.ExitStack() as processes:
                stack.pids = [
                    processes.enter_context(
                        _process(serve, env, LOGS / "serve.log", stack.base + "/healthz")
                    ),
                    *(
                        processes.enter_context(_process(worker, env, LOGS / f"worker{n}.log"))
                        for n in range(1, WORKERS + 1)
                    ),
                ]
                say(f"serving at {stack.base} with {WORKERS} worker process(es)")
                single, multi, half, spike = uvloop.run(_measure(stack, data))
            raw_single, raw_multi = uvloop.run(_raw(stack, data))
            _report(hello, single, multi, half, spike, raw_single, raw_multi)
            print(f"server logs: {LOGS}")
    finally:
        cache.flushdb()
        cache.close()
        from koepon.app import consumer_names
        from koepon.kernel.bus.rabbitmq import delete_topology

        # The queues were declared by the server and worker processes: name them all.
        asyncio.run(delete_topology(AMQP_URL, exchange, consumer_names()))


if __name__ == "__main__":
    main()
