"""The business clock tests inject into services instead of sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta


class MovableClock:
    """Returns ``now`` until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
