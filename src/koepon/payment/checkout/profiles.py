"""Fans' spending profiles kept for a few seconds, for showing the cap on the wallet page only.

The auth service owns the profile. Deciding a purchase always asks it afresh (COMPLIANCE
A1–A3: a stale cap there would be a compliance bug); the wallet page only shows the cap, and
asking auth on every page view was most of the page's cost. A profile is kept here for at most
``ttl_seconds`` of real (monotonic) time, so a changed limit shows within that time; the cap
itself is still computed at the moment of the read (an age bracket or a raise takes effect on
time). Each process keeps its own copy: nothing to invalidate, nothing that can fail apart from
the business write (docs/DECISIONS.md, "Purchases").
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from koepon.contracts.auth import SpendingProfile

DISPLAY_TTL_SECONDS = 5.0
MAX_PROFILES = 10_000


class DisplayProfiles:
    """Spending profiles for display, each kept ``ttl_seconds`` after it was fetched."""

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[SpendingProfile]],
        *,
        ttl_seconds: float = DISPLAY_TTL_SECONDS,
        max_profiles: int = MAX_PROFILES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetch = fetch
        self.ttl_seconds = ttl_seconds
        self.max_profiles = max_profiles
        self.clock = clock
        self._kept: dict[str, tuple[float, SpendingProfile]] = {}

    async def get(self, user_id: str) -> SpendingProfile:
        """The fan's profile, fetched at most ``ttl_seconds`` ago; errors of the fetch pass."""
        now = self.clock()
        kept = self._kept.get(user_id)
        if kept is not None and now < kept[0]:
            return kept[1]
        profile = await self.fetch(user_id)
        if self.ttl_seconds > 0:
            self._kept.pop(user_id, None)
            if len(self._kept) >= self.max_profiles:
                # Oldest fetched first (dicts keep insertion order): a bound, not an LRU.
                del self._kept[next(iter(self._kept))]
            self._kept[user_id] = (self.clock() + self.ttl_seconds, profile)
        return profile
