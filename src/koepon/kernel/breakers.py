"""What every circuit breaker (aiobreaker) is asked: is it open, and when may a trial call go."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from aiobreaker import CircuitBreaker, CircuitBreakerState


def is_open(breaker: CircuitBreaker) -> bool:
    return bool(breaker.current_state == CircuitBreakerState.OPEN)


def seconds_until_trial(breaker: CircuitBreaker, *, unknown: int) -> int:
    """Whole seconds (at least 1) until an open ``breaker`` lets a trial call through: the
    ``Retry-After`` of a refusal. ``unknown`` when the breaker does not say when it opened."""
    # aiobreaker keeps the opening instant only in its state storage, as naive UTC.
    opened_at: datetime | None = breaker._state_storage.opened_at
    if opened_at is None:
        return unknown
    reset: timedelta = breaker.timeout_duration
    left = opened_at + reset - datetime.now(UTC).replace(tzinfo=None)
    return max(1, math.ceil(left.total_seconds()))
