"""The fault schedule run under load: Redis killed, PostgreSQL stopped, the broker cut, the
payment process killed right after a sandbox payment is recorded, the payment service hung."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.outage.stack import Stack
from bench.outage.workload import Fan, Workload


@dataclass
class Fault:
    name: str
    start: float
    end: float = 0.0
    flows: tuple[str, ...] = ()  # the flows whose first success after ``end`` is recovery
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Schedule:
    stack: Stack
    load: Workload
    faults: list[Fault] = field(default_factory=list)
    outbox: list[tuple[float, int | None]] = field(default_factory=list)

    async def sleep_until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - self.load.now()))

    async def run(self, victim: Fan) -> None:
        """About 160 s of faults, one after another, each with room to recover."""
        await self.sleep_until(10)
        await self.redis(victim, seconds=15)
        await self.sleep_until(45)
        await self.postgres(seconds=10)
        await self.sleep_until(75)
        await self.broker(seconds=30)
        await self.sleep_until(120)
        await self.kill_payment()
        await self.sleep_until(140)
        await self.hang_payment(seconds=20)

    async def redis(self, fan: Fan, seconds: float) -> None:
        fault = Fault("redis killed", self.load.now(), flows=("login", "probe me"))
        self.faults.append(fault)
        await asyncio.to_thread(self.stack.redis.kill)
        await asyncio.sleep(3)
        refresh = fan.refresh
        during = await self.load.call(
            "refresh", "POST", "/api/v1/auth/refresh", json={"refresh_token": refresh}
        )
        me = await self.load.call("me", "GET", "/api/v1/me", headers=fan.auth)
        fault.notes["refresh during outage"] = _said(during)
        fault.notes["/me during outage"] = _said(me)
        if during is not None and during.status_code == 200:
            refresh = during.json()["refresh_token"]
        await asyncio.sleep(max(0.0, fault.start + seconds - self.load.now()))
        await asyncio.to_thread(self.stack.redis.start)
        fault.end = self.load.now()
        # The fan's app retries the refresh once the platform answers again.
        after = None
        for _ in range(40):
            after = await self.load.call(
                "refresh", "POST", "/api/v1/auth/refresh", json={"refresh_token": refresh}
            )
            if after is not None and after.status_code < 500:
                break
            await asyncio.sleep(0.5)
        fault.notes["refresh retried after"] = _said(after)
        if after is not None and after.status_code == 200:
            fan.access, fan.refresh = after.json()["access_token"], after.json()["refresh_token"]
        else:
            fan.access = None
            # Signed out by the outage: the fan signs in again (not part of the refresh figure).
            await self.load.sign_in(fan)

    async def postgres(self, seconds: float) -> None:
        fault = Fault("postgres stopped", self.load.now(), flows=("checkout", "probe wallet"))
        self.faults.append(fault)
        await asyncio.to_thread(self.stack.postgres.stop, "fast")
        await asyncio.sleep(max(0.0, fault.start + seconds - self.load.now()))
        await asyncio.to_thread(self.stack.postgres.start)
        fault.end = self.load.now()

    async def broker(self, seconds: float) -> None:
        fault = Fault("broker cut", self.load.now(), flows=("events drained",))
        self.faults.append(fault)
        await asyncio.to_thread(self.stack.broker.cut)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(self.stack.broker.mend)
        fault.end = self.load.now()
        peak = max((n for t, n in self.outbox if t >= fault.start and n is not None), default=0)
        fault.notes["outbox peak (rows)"] = peak
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if await pending_events(self.stack) == 0:
                fault.notes["outbox drained in (s)"] = round(self.load.now() - fault.end, 1)
                break
            await asyncio.sleep(0.1)
        else:
            fault.notes["outbox drained in (s)"] = "not within 60 s"

    async def kill_payment(self) -> None:
        """SIGKILL the payment process the moment the sandbox has recorded a payment."""
        armed = datetime.now(UTC)
        fault = Fault("payment kill -9", self.load.now(), flows=("checkout", "probe wallet"))
        self.faults.append(fault)
        conn = await asyncpg.connect(self.stack.postgres.dsn)
        try:
            deadline = time.monotonic() + 30
            row = None
            while row is None and time.monotonic() < deadline:
                row = await conn.fetchrow(
                    "SELECT checkout_id FROM payment.sandbox_payments"
                    " WHERE status = 'succeeded' AND updated_at >= $1 LIMIT 1",
                    armed,
                )
                if row is None:
                    await asyncio.sleep(0.002)
            self.stack.signal("payment", signal.SIGKILL)
            fault.start = self.load.now()
            if row is not None:
                lot = await conn.fetchval(
                    "SELECT count(*) FROM payment.medal_lots WHERE transfer_id = $1",
                    f"checkout:{row['checkout_id']}:paid",
                )
                fault.notes["killed after payment of"] = row["checkout_id"][:8]
                fault.notes["credited when killed"] = bool(lot)
        finally:
            await conn.close()
        await asyncio.sleep(3)  # the orchestrator notices and restarts it
        restarting = self.load.now()
        await asyncio.to_thread(self.stack.start, "payment")
        fault.end = self.load.now()  # healthy again: recovery is counted from here
        fault.notes["restart took (s)"] = round(fault.end - restarting, 1)

    async def hang_payment(self, seconds: float) -> None:
        fault = Fault("payment hung", self.load.now(), flows=("probe wallet", "checkout"))
        self.faults.append(fault)
        self.stack.signal("payment", signal.SIGSTOP)
        try:
            await asyncio.sleep(seconds)
        finally:
            self.stack.signal("payment", signal.SIGCONT)
        fault.end = self.load.now()

    async def watch_outbox(self, stop: asyncio.Event) -> None:
        """Unpublished events every half second (None while the database is down)."""
        while not stop.is_set():
            self.outbox.append((self.load.now(), await pending_events(self.stack)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


async def pending_events(stack: Stack) -> int | None:
    try:
        conn = await asyncpg.connect(stack.postgres.dsn, timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        return int(
            await conn.fetchval(
                "SELECT (SELECT count(*) FROM auth.outbox WHERE published_at IS NULL)"
                " + (SELECT count(*) FROM payment.outbox WHERE published_at IS NULL)"
            )
        )
    except (OSError, asyncpg.PostgresError):
        return None
    finally:
        await conn.close()


def _said(response: Any) -> str:
    if response is None:
        return "no answer"
    code = ""
    with contextlib.suppress(ValueError, AttributeError):
        code = response.json().get("code") or ""
    kind = response.headers.get("content-type", "").split(";")[0]
    return f"{response.status_code} {code or kind}".strip()
