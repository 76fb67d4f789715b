"""The nightly audit (INTERFACE STUB: the audit helper replaces it)."""

from __future__ import annotations

import asyncio

from koepon.gacha.audit.service import Audits


class NightlyAudit:
    def __init__(self, audits: Audits) -> None:
        self.audits = audits

    async def run_forever(self) -> None:
        await asyncio.Event().wait()
