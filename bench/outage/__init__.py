"""``python -m bench outage [--src TREE]``: the distributed platform on its own PostgreSQL,
Redis and broker link, fans buying medal packs while dependencies fail on a schedule, then
money and events reconciled against the provider's records (issue 14's figures).

Exits 1 when any money was lost or doubled. Not part of ``make test``: about five minutes."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import httpx

from bench.outage import reconcile, report
from bench.outage.faults import Schedule, pending_events
from bench.outage.stack import Stack
from bench.outage.workload import Workload

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench outage", description=__doc__)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="tree the processes import")
    parser.add_argument("--rate", type=float, default=3.0, help="purchases started per second")
    parser.add_argument("--seconds", type=float, default=170.0, help="load duration (≥ 165)")
    parser.add_argument("--settle", type=float, default=60.0, help="longest wait for recovery")
    parser.add_argument("--fans", type=int, default=30)
    parser.add_argument("--minors", type=int, default=4)
    parser.add_argument("--logs", type=Path, default=None, help="process logs (default: temp)")
    return parser.parse_args(argv)


def describe(src: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(src), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(src), "status", "--porcelain", "--", "."], capture_output=True, text=True
    )
    line = done.stdout.strip()[:70] or str(src)
    return line + (" (+ uncommitted changes)" if dirty.stdout.strip() else "")


async def run(args: argparse.Namespace) -> int:
    logs = args.logs or Path(tempfile.mkdtemp(prefix="koepon-outage-"))
    stack = Stack(src=args.src.resolve(), logs=logs)
    tap = reconcile.Tap(BROKER_URL, stack.exchange)
    tree = describe(args.src)
    print(f"outage bench: {tree}; logs in {logs}", file=sys.stderr)
    try:
        await asyncio.to_thread(stack.servers)
        await tap.open()
        await asyncio.to_thread(stack.platform)
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=stack.gateway, timeout=60, limits=limits) as http:
            load = Workload(http)
            load.packs = (await http.get("/api/v1/medal-packs")).json()
            for batch in range(0, args.fans + args.minors, 10):
                count = min(10, args.fans + args.minors - batch)
                await asyncio.gather(
                    *(load.sign_up(minor=batch + i >= args.fans) for i in range(count))
                )
            victim = await load.sign_up(minor=False)
            prober = await load.sign_up(minor=False)
            load.fans = [f for f in load.fans if f not in (victim, prober)]
            print(f"{len(load.fans)} fans signed up; load and faults begin", file=sys.stderr)
            load.started = time.monotonic()
            stop = asyncio.Event()
            schedule = Schedule(stack, load)
            background = [
                asyncio.create_task(load.probe(prober, stop)),
                asyncio.create_task(schedule.watch_outbox(stop)),
            ]
            buying = asyncio.create_task(load.run(args.rate, stop))
            await schedule.run(victim)
            await schedule.sleep_until(args.seconds)
            stop.set()
            await buying
            await asyncio.gather(*background)
            settle = await settled(stack, args.settle)
            money = await reconcile.money(stack.postgres.dsn)
            events = await reconcile.events(stack.postgres.dsn, tap)
            audit = await asyncio.to_thread(stack.cli, "audit", "ledger")
            said = (audit.stdout + audit.stderr).strip().splitlines()
            audit_line = f"exit {audit.returncode}: {said[-1] if said else ''}"
            print(
                report.table(
                    title=f"Outage run — {tree}",
                    load=load,
                    faults=schedule.faults,
                    money=money,
                    events=events,
                    audit=audit_line,
                    settle=settle,
                )
            )
            record = {
                "money": {k: v for k, v in asdict(money).items() if not isinstance(v, dict)},
                "events": asdict(events),
                "faults": [asdict(f) for f in schedule.faults],
                "purchases": dict(load.results()),
            }
            (logs / "outage.json").write_text(json.dumps(record, indent=1, default=str))
            return 1 if money.lost_or_doubled else 0
    finally:
        await asyncio.to_thread(stack.down)
        # After the processes are gone: a running consumer would declare its queue again.
        await tap.close(stack.queues())


async def settled(stack: Stack, within: float) -> str:
    """Wait until every recorded payment holds its medals and every event is out (bounded):
    the recovery job and the sandbox's webhook retries get their chance."""
    began = time.monotonic()
    owed: int | None = None
    pending: int | None = None
    while time.monotonic() - began < within:
        owed = await reconcile.unsettled(stack.postgres.dsn)
        pending = await pending_events(stack)
        if owed == 0 and pending == 0:
            return f"settled in {time.monotonic() - began:.0f} s"
        await asyncio.sleep(2)
    return (
        f"not settled within {within:.0f} s "
        f"(charged, not credited: {owed}; events pending: {pending})"
    )


def main(argv: list[str] | None = None) -> None:
    sys.exit(asyncio.run(run(parse(sys.argv[1:] if argv is None else argv))))
