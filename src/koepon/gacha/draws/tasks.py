"""The draw workers: the queue consumer, the request's own fast path, the recovery sweeper.

A process runs at most ``concurrency`` sagas at once; a draw already running here is not
started twice here (another process may still run it: the saga is safe for that). The queue
message is acknowledged once its saga has started: the draw row is the durable record, and
the recovery sweeper takes over any draw left unfinished (crash, outage) after
``draw_stale_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from koepon.gacha.context import GachaContext
from koepon.gacha.draws import repository
from koepon.gacha.draws.admission import AcceptGate
from koepon.gacha.draws.models import Draw
from koepon.gacha.draws.saga import DrawSaga, WorkerCrashed, stale_before
from koepon.gacha.draws.states import UNFINISHED
from koepon.kernel import jobs
from koepon.kernel.bus import Message
from koepon.kernel.metrics import DRAW_SAGAS_RUNNING, DRAWS_UNFINISHED

log = structlog.get_logger(__name__)
SWEEP_BATCH = 200


class DrawWorker:
    def __init__(self, saga: DrawSaga, *, concurrency: int = 32) -> None:
        self.saga = saga
        self.slots = asyncio.Semaphore(concurrency)
        self.running: dict[str, asyncio.Task[None]] = {}

    def start(self, draw_id: str, known: Draw | None = None) -> asyncio.Task[None] | None:
        """Run the draw's saga now if a slot is free (the request's fast path); None when
        every slot is busy (the queue's workers will)."""
        task = self.running.get(draw_id)
        if task is not None:
            return task
        if self.slots.locked():
            return None
        return self._spawn(draw_id, acquired=False, known=known)

    async def claim(self) -> bool:
        """Take a slot for a draw about to be accepted, if one is free now (never waits): that
        draw's saga then runs here (``start_claimed``) and is not queued. Give it back with
        ``release`` if no draw comes of it."""
        if self.slots.locked():
            return False
        await self.slots.acquire()  # free: returns without yielding to the loop
        return True

    def start_claimed(self, draw_id: str, known: Draw) -> asyncio.Task[None]:
        """Run a just-accepted draw's saga in the slot ``claim`` took for it."""
        return self._spawn(draw_id, acquired=True, known=known)

    def release(self) -> None:
        self.slots.release()

    def _spawn(
        self, draw_id: str, *, acquired: bool, known: Draw | None = None
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run(draw_id, acquired=acquired, known=known))
        self.running[draw_id] = task
        task.add_done_callback(lambda _t: self.running.pop(draw_id, None))
        return task

    async def _run(self, draw_id: str, *, acquired: bool, known: Draw | None) -> None:
        if not acquired:
            await self.slots.acquire()
        DRAW_SAGAS_RUNNING.inc()
        try:
            await self.saga.run(draw_id, known)
        except WorkerCrashed as crash:
            log.warning("gacha.draw.worker_crashed", draw_id=draw_id, point=str(crash))
        except Exception as exc:
            log.exception("gacha.draw.saga_failed", draw_id=draw_id, error=repr(exc))
        finally:
            DRAW_SAGAS_RUNNING.dec()
            self.slots.release()

    async def handle(self, message: Message) -> None:
        """The queue consumer: waits for a free slot (back-pressure), then starts the saga."""
        draw_id = str(message.payload.get("draw_id", ""))
        if not draw_id or draw_id in self.running:
            return
        await self.slots.acquire()
        if draw_id in self.running:
            self.slots.release()
            return
        self._spawn(draw_id, acquired=True)

    async def close(self) -> None:
        for task in list(self.running.values()):
            task.cancel()
        for task in list(self.running.values()):
            with contextlib.suppress(BaseException):
                await task


class DrawRecovery:
    """Finishes or releases draws a worker left behind (DESIGN.md "The draw", step 2).

    Not while this process has a backlog of draw requests waiting to be accepted (``gate``):
    in a spike the queue's draws turn "untouched for ``draw_stale_seconds``" by the thousand,
    and sweeping them here took the CPU from the accepts and, through payment calls slowed by
    it, opened the payment breaker, which refuses new draws (503). The queue's workers draw
    them; the sweep resumes once the backlog is answered."""

    def __init__(self, ctx: GachaContext, worker: DrawWorker, gate: AcceptGate) -> None:
        self.ctx = ctx
        self.worker = worker
        self.gate = gate

    async def run_once(self) -> int:
        """Run the saga of every draw untouched for ``draw_stale_seconds``; returns how many
        were taken up (each in its own runs, never two at once in this process)."""
        if self.gate.pressed:
            return 0
        settings = self.ctx.gacha_settings
        before = stale_before(self.ctx.now(), settings.draw_stale_seconds)
        async with self.ctx.db.transaction(read_only=True) as session:
            ids = await repository.stale(
                session, statuses=list(UNFINISHED), before=before, limit=SWEEP_BATCH
            )
            counts = await repository.count_by_status(session, statuses=list(UNFINISHED))
        for status in UNFINISHED:  # the saga states gauge, at one indexed count per sweep
            DRAWS_UNFINISHED.labels(status.value).set(counts.get(status.value, 0))
        tasks = []
        for draw_id in ids:
            if draw_id in self.worker.running:
                continue
            await self.worker.slots.acquire()  # bounded: at most ``concurrency`` at once
            tasks.append(self.worker._spawn(draw_id, acquired=True))
        if tasks:
            await asyncio.wait(tasks)
        return len(tasks)

    async def run_forever(self) -> None:
        while True:
            try:
                done = await self.run_once()
                if done:
                    log.info("gacha.draws.recovered", count=done)
            except Exception as exc:
                log.warning("gacha.draws.recovery_failed", error=repr(exc))
            await jobs.pause(self.ctx.gacha_settings.draw_recovery_seconds)
