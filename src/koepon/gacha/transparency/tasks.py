"""Draw-log background work: sequencing submitted records into the tree and publishing signed
checkpoints (any number of processes may run it; the head row serialises appends)."""

from __future__ import annotations

import asyncio

import structlog

from koepon.gacha.transparency.service import BATCH, DrawLog

log = structlog.get_logger(__name__)


class LogPublisher:
    """Sequences every ``draw_log_sequence_seconds`` (and at once after a submit committed in
    this process), publishes a checkpoint every ``draw_log_checkpoint_seconds`` when the log
    grew. A failing round is logged and retried; nothing ends the loop but cancellation."""

    def __init__(self, log: DrawLog) -> None:
        self.log = log
        settings = log.ctx.gacha_settings
        self.sequence_seconds = settings.draw_log_sequence_seconds
        self.checkpoint_seconds = settings.draw_log_checkpoint_seconds
        self.rounds = 0  # completed rounds (health checks and tests watch it move)

    async def sequence_round(self) -> bool:
        """One sequencing round; True when the queue is drained (or the round failed)."""
        try:
            return await self.log.sequence() < BATCH
        except Exception as exc:  # keep the job alive; the next round retries
            log.error("draw_log.sequence_failed", error=repr(exc))
            return True

    async def checkpoint_round(self) -> None:
        try:
            await self.log.publish_checkpoint()
        except Exception as exc:  # keep the job alive; the next round retries
            log.error("draw_log.checkpoint_failed", error=repr(exc))

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_checkpoint = loop.time()  # at once: a new log gets its size-0 checkpoint
        while True:
            self.log.submitted.clear()  # a submit committing from now on wakes the next wait
            drained = await self.sequence_round()
            if loop.time() >= next_checkpoint:
                await self.checkpoint_round()
                next_checkpoint = loop.time() + self.checkpoint_seconds
            self.rounds += 1
            if not drained:
                continue  # a full batch: more records are waiting
            wait = max(0.0, min(self.sequence_seconds, next_checkpoint - loop.time()))
            try:
                await asyncio.wait_for(self.log.submitted.wait(), timeout=wait)
            except TimeoutError:
                pass
