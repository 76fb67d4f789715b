"""Fans' spending profiles (COMPLIANCE A3: cooling-off, self-set monthly draw cap) as the draw
path reads them: from the auth service, kept a few seconds so a spike of one fan's draws asks
auth once. A lowered cap or a new pause reaches draws within ``TTL_SECONDS``."""

from __future__ import annotations

import time

from koepon.contracts.auth import AuthAccounts, SpendingProfile

TTL_SECONDS = 5.0
MAX_ENTRIES = 50_000


class Profiles:
    def __init__(self, auth: AuthAccounts | None) -> None:
        self.auth = auth
        self._kept: dict[str, tuple[float, SpendingProfile]] = {}

    async def of(self, user_id: str) -> SpendingProfile | None:
        """The fan's profile, or None when this deployment has no auth client (tests of the
        gacha service alone)."""
        if self.auth is None:
            return None
        now = time.monotonic()
        kept = self._kept.get(user_id)
        if kept is not None and now - kept[0] < TTL_SECONDS:
            return kept[1]
        profile = await self.auth.spending_profile(user_id)
        if len(self._kept) >= MAX_ENTRIES:
            self._kept.clear()
        self._kept[user_id] = (now, profile)
        return profile
