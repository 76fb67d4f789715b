"""Exactly-once delivery through real RabbitMQ and PostgreSQL when the relay or a consumer is
killed (-9) mid-way and restarted, and when RabbitMQ is unreachable for a while."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from contextlib import suppress
from pathlib import Path

import pytest

from koepon.kernel.bus.rabbitmq import RabbitMQBus

from .conftest import AMQP_URL
from .probe import CONSUMERS, Pinged, Probe, wait_until

pytestmark = pytest.mark.distributed

PROBE_SCRIPT = Path(__file__).with_name("probe.py")


class Child:
    """The probe service as a separate OS process (relay or consumer)."""

    def __init__(self, process: asyncio.subprocess.Process, output: Path) -> None:
        self.process = process
        self.output = output

    @classmethod
    async def start(
        cls, role: str, *, db: str, exchange: str, output: Path, stall_after: int | None = None
    ) -> Child:
        args = [str(PROBE_SCRIPT), role, "--db", db, "--amqp", AMQP_URL, "--exchange", exchange]
        if stall_after is not None:
            args += ["--stall-after", str(stall_after)]
        with output.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable, *args, stdout=sink, stderr=asyncio.subprocess.STDOUT
            )
        child = cls(process, output)
        await child.said("ready")
        return child

    async def said(self, word: str, within: float = 30.0) -> None:
        async def seen() -> bool:
            if self.process.returncode is not None:
                raise RuntimeError(f"probe process died:\n{self.output.read_text()}")
            return word in self.output.read_text().splitlines()

        await wait_until(seen, within=within)

    async def kill(self) -> None:
        """kill -9: no cleanup, no acks, no commits."""
        with suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                await self.kill()


async def _consumers_in_this_process(probe: Probe, exchange: str, **options: object) -> RabbitMQBus:
    bus = RabbitMQBus(AMQP_URL, exchange=exchange, **options)  # type: ignore[arg-type]
    await bus.connect()
    for consumer in CONSUMERS:
        bus.subscribe(consumer, [Pinged.topic], probe.handler(consumer))
    await bus.start_consuming()
    return bus


def _exactly_once(probe: Probe, count: int):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return all([await probe.applied(c) == dict.fromkeys(range(count), 1) for c in CONSUMERS])

    return check


async def _assert_exactly_once(probe: Probe, count: int) -> None:
    for consumer in CONSUMERS:
        applied = await probe.applied(consumer)
        assert sorted(applied) == list(range(count)), consumer
        assert set(applied.values()) == {1}, consumer


async def test_relay_killed_mid_batch_and_restarted_delivers_each_event_exactly_once(
    pg_probe: Probe, pg_url: str, exchange: str, tmp_path: Path
) -> None:
    count = 500
    consumers = await _consumers_in_this_process(pg_probe, exchange)
    relay = None
    try:
        await pg_probe.emit_many(count)
        # Batches of 100: the 250th publish is confirmed by the broker but its batch (200-299)
        # is not yet marked published when the relay dies.
        first = await Child.start(
            "relay", db=pg_url, exchange=exchange, output=tmp_path / "relay1.log", stall_after=250
        )
        await first.said("stalled")
        await first.kill()
        assert await pg_probe.pending() == count - 200

        relay = await Child.start(
            "relay", db=pg_url, exchange=exchange, output=tmp_path / "relay2.log"
        )
        await wait_until(_exactly_once(pg_probe, count), within=60)
        assert await pg_probe.pending() == 0
        await asyncio.sleep(0.2)  # nothing else trickles in
        await _assert_exactly_once(pg_probe, count)
        for consumer in CONSUMERS:  # the republished rows reached the consumers twice
            assert await pg_probe.max_deliveries(consumer) == 2
    finally:
        if relay:
            await relay.stop()
        await consumers.close()


async def test_consumer_killed_mid_way_and_restarted_applies_each_event_exactly_once(
    pg_probe: Probe, pg_url: str, exchange: str, tmp_path: Path
) -> None:
    count = 300
    first = await Child.start(
        "consume", db=pg_url, exchange=exchange, output=tmp_path / "c1.log", stall_after=150
    )
    publisher = RabbitMQBus(AMQP_URL, exchange=exchange)
    await publisher.connect()
    second = None
    try:
        await pg_probe.emit_many(count)
        relay = pg_probe.relay(publisher)
        while await relay.relay_once():
            pass
        # The 150th handled message committed its effect but was never acked.
        await first.said("stalled")
        await first.kill()
        before = [len(await pg_probe.applied(c)) for c in CONSUMERS]
        assert sum(before) < 2 * count

        second = await Child.start(
            "consume", db=pg_url, exchange=exchange, output=tmp_path / "c2.log"
        )
        await wait_until(_exactly_once(pg_probe, count), within=60)
        await asyncio.sleep(0.2)
        await _assert_exactly_once(pg_probe, count)
        assert max([await pg_probe.max_deliveries(c) for c in CONSUMERS]) == 2
    finally:
        if second:
            await second.stop()
        await first.kill()
        await publisher.close()


class FlakyLink:
    """A TCP proxy to RabbitMQ that can go down (drop every connection, refuse new ones)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5672) -> None:
        self.upstream = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


async def test_rabbitmq_unreachable_for_a_while_loses_nothing(
    pg_probe: Probe, exchange: str
) -> None:
    link = FlakyLink()
    await link.up()
    consumers = await _consumers_in_this_process(pg_probe, exchange)
    publisher = RabbitMQBus(
        f"amqp://guest:guest@127.0.0.1:{link.port}/",
        exchange=exchange,
        publish_timeout_seconds=1,
        reconnect_interval_seconds=0.3,
    )
    await publisher.connect()
    relay = pg_probe.relay(publisher, poll_seconds=0.05, max_backoff_seconds=0.4)
    pg_probe.db.on_commit(relay.wake)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await pg_probe.emit_many(20)
        await wait_until(_exactly_once(pg_probe, 20))

        await link.down()
        await pg_probe.emit_many(30, start=20, per_transaction=5)
        await asyncio.sleep(2)
        assert await pg_probe.pending() == 30  # waiting in the outbox, not lost
        assert not await publisher.ping()
        assert relay.failures > 0

        await link.up()
        await wait_until(_exactly_once(pg_probe, 50), within=30)
        assert await pg_probe.pending() == 0
        assert await publisher.ping()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await publisher.close()
        await consumers.close()
        if link.server:
            await link.down()
