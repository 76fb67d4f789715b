"""Draw-log background work: sequencing submitted records into the tree and publishing signed
checkpoints (any number of processes may run it; the head row serialises appends)."""

from __future__ import annotations

import asyncio

import structlog

from koepon.gacha.transparency.service import BATCH, DrawLog
from koepon.kernel import jobs

log = structlog.get_logger(__name__)

# A failed sequencing round is retried this soon at the latest (records are waiting), whatever
# the period.
RETRY_SECONDS = 1.0


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

    async def sequence_round(self) -> int | None:
        """One sequencing round: how many records it appended, None if it failed."""
        try:
            return await self.log.sequence()
        except Exception as exc:  # keep the job alive; the next round retries
            log.error("draw_log.sequence_failed", error=repr(exc))
            return None

    async def checkpoint_round(self) -> bool:
        """One publishing round; False if it failed."""
        try:
            await self.log.publish_checkpoint()
        except Exception as exc:  # keep the job alive; the next round retries
            log.error("draw_log.checkpoint_failed", error=repr(exc))
            return False
        return True

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_checkpoint = loop.time()  # at once: a new log gets its size-0 checkpoint
        while True:
            self.log.submitted.clear()  # a submit committing from now on wakes the next wait
            appended = await self.sequence_round()
            if loop.time() >= next_checkpoint:
                await self.checkpoint_round()  # a failure is retried at the next period
                next_checkpoint = loop.time() + self.checkpoint_seconds
            self.rounds += 1
            if appended == BATCH:
                jobs.end_if_stopping()
                continue  # a full batch: more records are waiting
            period = self.sequence_seconds if appended is not None else RETRY_SECONDS
            wait = max(0.0, min(self.sequence_seconds, period, next_checkpoint - loop.time()))
            await jobs.pause(wait, self.log.submitted)
