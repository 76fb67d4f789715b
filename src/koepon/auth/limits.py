"""Self-set spending limits, COMPLIANCE A3 (pure: plain values in, plain values out).

A cap is an integer or ``None`` (no cap). Lowering takes effect at once; raising (including
removing a cap) takes effect ``RAISE_DELAY`` after the request, so a fan cannot lift a limit in
the heat of the moment. A cooling-off pause can be started or lengthened, never shortened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

RAISE_DELAY = timedelta(days=7)
COOLING_OFF_DAYS: frozenset[int] = frozenset({7, 30, 90})


def _size(cap: int | None) -> float:
    return float("inf") if cap is None else cap


@dataclass(frozen=True)
class Cap:
    """One self-set cap: the value in force and, maybe, a raise waiting for its effective time."""

    current: int | None = None
    pending: int | None = None
    pending_effective_at: datetime | None = None

    @property
    def has_pending(self) -> bool:
        return self.pending_effective_at is not None

    def in_force(self, now: datetime) -> int | None:
        if self.pending_effective_at is not None and now >= self.pending_effective_at:
            return self.pending
        return self.current

    def settled(self, now: datetime) -> Cap:
        """The same cap with a due raise applied."""
        if self.pending_effective_at is not None and now >= self.pending_effective_at:
            return Cap(current=self.pending)
        return self

    def change(self, requested: int | None, now: datetime) -> Cap:
        """The cap after the fan asks for ``requested`` at ``now``.

        Not higher than the cap in force → at once, dropping any waiting raise. Higher → waits
        ``RAISE_DELAY`` from this request (a new raise restarts the wait).
        """
        if requested is not None and requested < 0:
            raise ValueError("A cap cannot be negative")
        settled = self.settled(now)
        if _size(requested) <= _size(settled.current):
            return Cap(current=requested)
        return Cap(
            current=settled.current, pending=requested, pending_effective_at=now + RAISE_DELAY
        )


def cooling_off_end(current_until: datetime | None, days: int, now: datetime) -> datetime:
    """When a pause started at ``now`` for ``days`` ends; an ongoing longer pause is kept."""
    if days not in COOLING_OFF_DAYS:
        raise ValueError(f"Cooling-off lasts one of {sorted(COOLING_OFF_DAYS)} days")
    requested = now + timedelta(days=days)
    if current_until is not None and current_until > requested:
        return current_until
    return requested


def cooling_off_active(until: datetime | None, now: datetime) -> bool:
    return until is not None and now < until
