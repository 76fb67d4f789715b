"""The circuit-breaker questions the gateway (and provider calls) ask: open? trial when?"""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiobreaker import CircuitBreaker, CircuitBreakerError

from koepon.kernel.breakers import is_open, seconds_until_trial


async def fail() -> None:
    raise ConnectionError("down")


async def test_a_closed_breaker_is_not_open_and_does_not_know_when_it_opened() -> None:
    breaker = CircuitBreaker(fail_max=2, timeout_duration=timedelta(seconds=30))
    assert not is_open(breaker)
    assert seconds_until_trial(breaker, unknown=7) == 7


async def test_an_opened_breaker_says_how_long_until_its_trial_call() -> None:
    breaker = CircuitBreaker(fail_max=2, timeout_duration=timedelta(seconds=30))
    with pytest.raises(ConnectionError):
        await breaker.call_async(fail)
    with pytest.raises(CircuitBreakerError):
        await breaker.call_async(fail)  # the second failure opens it
    assert is_open(breaker)
    assert 29 <= seconds_until_trial(breaker, unknown=7) <= 30


async def test_the_wait_is_never_below_one_second() -> None:
    # Reset after a microsecond: by the time it is asked, the trial is already due.
    breaker = CircuitBreaker(fail_max=1, timeout_duration=timedelta(microseconds=1))
    with pytest.raises(CircuitBreakerError):
        await breaker.call_async(fail)
    assert seconds_until_trial(breaker, unknown=7) == 1
