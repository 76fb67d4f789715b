"""The nightly audit: once a day at ``KOEPON_AUDIT_HOUR_JST``, every gacha drawn in the last
7 days is audited and each test below alpha raises a ``DrawAuditAlert`` (COMPLIANCE G9).

``run_if_due`` is the whole decision ("is it time, and not yet done today?") and runs the pass;
the loop only calls it every minute, so tests drive it with a movable clock and never sleep.
A process started after the hour audits at once; alerts are claimed per (gacha, version,
table, test, JST day), so restarts and parallel processes never alert twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import structlog

from koepon.gacha.audit.schemas import NightlyRun
from koepon.gacha.audit.service import Audits
from koepon.kernel import jobs
from koepon.kernel.clock import JST, as_utc

log = structlog.get_logger(__name__)

LOOKBACK = timedelta(days=7)
CHECK_SECONDS = 60.0


class NightlyAudit:
    def __init__(self, audits: Audits) -> None:
        self.audits = audits
        self.ctx = audits.ctx
        self.hour = self.ctx.gacha_settings.audit_hour_jst
        self.last_day: date | None = None  # the JST day of the last completed pass

    def due(self, now: datetime) -> bool:
        """Past today's audit hour (JST) and today's pass not yet done by this process."""
        local = as_utc(now).astimezone(JST)
        return local.hour >= self.hour and self.last_day != local.date()

    async def run_once(self, now: datetime | None = None) -> NightlyRun:
        """Audit every gacha with draws completed in the 7 days before ``now``."""
        now = now or self.ctx.now()
        day = as_utc(now).astimezone(JST).date()
        run = NightlyRun(day=day.isoformat())
        for gacha_id in await self.audits.recently_drawn(now - LOOKBACK):
            run.gachas += 1
            try:
                alerts, repeated = await self.audits.alert(gacha_id, day=day)
            except Exception as exc:  # one broken gacha does not stop the others
                run.failed.append(gacha_id)
                log.error("gacha.audit.failed", gacha_id=gacha_id, error=repr(exc))
                continue
            run.alerts.extend(alerts)
            run.repeated += repeated
        log.info(
            "gacha.audit.nightly",
            day=run.day,
            gachas=run.gachas,
            alerts=len(run.alerts),
            failed=len(run.failed),
        )
        return run

    async def run_if_due(self) -> NightlyRun | None:
        """The pass if it is due now (``ctx.now()``), else None."""
        now = self.ctx.now()
        if not self.due(now):
            return None
        run = await self.run_once(now)
        self.last_day = as_utc(now).astimezone(JST).date()
        return run

    async def run_forever(self) -> None:
        """The background job: look every minute whether the pass is due."""
        while True:
            try:
                await self.run_if_due()
            except Exception as exc:  # keep the job alive; the next look retries
                log.error("gacha.audit.nightly_failed", error=repr(exc))
            await jobs.pause(CHECK_SECONDS)
