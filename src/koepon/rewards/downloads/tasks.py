"""Downloads' background job: delete export archives past their keep time (each in its own
transaction, see ``Exports.sweep``)."""

from __future__ import annotations

import structlog

from koepon.kernel import jobs
from koepon.rewards.downloads.exports import Exports

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 300.0


class ExportSweeper:
    def __init__(self, exports: Exports, every_seconds: float = SWEEP_SECONDS) -> None:
        self.exports = exports
        self.every_seconds = every_seconds

    async def run_forever(self) -> None:
        while True:
            try:
                while await self.exports.sweep() > 0:
                    jobs.end_if_stopping()
            except Exception as exc:  # keep the job alive; the next pass retries
                log.error("rewards.export_sweep_failed", error=repr(exc))
            await jobs.pause(self.every_seconds)
