"""Sign-in throttling: every guess is counted before its password is checked, and waits grow.

Three buckets meet each attempt (keys are hashed, so no address or email sits in the cache):

- **address and account** (strict): one source guessing one account; the first to bite, so a
  single attacker cannot lock the owner out from elsewhere;
- **account** (strict): an account guessed from many addresses;
- **address** (loose): one source guessing many accounts. Skipped for an account that signed
  in from this address before (OWASP's "device cookie" idea), so a shared office or operator
  address is never shut by someone else's failures, and its waits stay short.

Each bucket lets ``free`` failures through per window, then exponential back-off: the next
attempt must wait 1 s, then 2 s, 4 s … up to the bucket's cap, answered 429 with
``Retry-After``. A strict bucket counts the attempt atomically (``incr``) before the password
is checked, and past ``free`` only the one attempt that wins the gate is checked, so parallel
guesses cannot all slip through. A success clears the strict buckets (NIST SP 800-63B §5.2.2);
the loose bucket counts failures only, after the check (a burst may overshoot it by its
concurrency, which the strict buckets and the gateway's rate limit still bound).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from koepon.auth.errors import LoginThrottled
from koepon.auth.settings import AuthSettings
from koepon.kernel.cache import Cache

PREFIX = "auth:login:"
KNOWN_FOR_SECONDS = 30 * 86400
ADDRESS_MAX_DELAY = 60  # the loose bucket slows a source down; it never bans it for long
BASE_DELAY = 1
# A claim only has to outlive the race between attempts that read the same gate.
CLAIM_SECONDS = 60


@dataclass(frozen=True)
class Bucket:
    name: str
    key: str
    free: int
    max_delay: int
    strict: bool

    def delay(self, ordinal: int) -> int:
        """The wait after the ``ordinal``-th counted attempt of a window (0 while free)."""
        beyond = ordinal - self.free
        if beyond <= 0:
            return 0
        return int(min(self.max_delay, BASE_DELAY * 2 ** min(beyond - 1, 30)))


@dataclass(frozen=True)
class Attempt:
    buckets: tuple[Bucket, ...]
    known_key: str


def _hashed(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, cache: Cache, settings: AuthSettings, clock: Callable[[], datetime]) -> None:
        self.cache = cache
        self.settings = settings
        self.clock = clock

    def _timestamp(self) -> float:
        return self.clock().timestamp()

    def _window(self) -> int:
        return max(1, self.settings.login_window_seconds)

    def _count_key(self, bucket: Bucket, now: float) -> str:
        return f"{PREFIX}count:{bucket.key}:{int(now) // self._window()}"

    async def _until(self, bucket: Bucket) -> tuple[bytes | None, float]:
        raw = await self.cache.get(f"{PREFIX}until:{bucket.key}")
        return raw, float(raw.split()[0]) if raw else 0.0

    async def _gates(self, buckets: list[Bucket]) -> list[tuple[bytes | None, float]]:
        return list(await asyncio.gather(*(self._until(bucket) for bucket in buckets)))

    async def admit(self, *, account: str, address: str) -> Attempt:
        """Count this attempt, or raise ``LoginThrottled`` with the wait."""
        per_account = max(1, self.settings.login_attempts_per_window)
        buckets = [
            Bucket(
                "pair",
                _hashed("pair", address, account),
                max(1, per_account // 4),
                self._window(),
                strict=True,
            ),
            Bucket(
                "account", _hashed("account", account), per_account, self._window(), strict=True
            ),
        ]
        address_bucket = Bucket(
            "address",
            _hashed("address", address),
            max(1, self.settings.login_attempts_per_ip_window),
            min(ADDRESS_MAX_DELAY, self._window()),
            strict=False,
        )
        known_key = f"{PREFIX}known:{_hashed(address, account)}"
        # One round of concurrent reads (each is a Redis round trip when distributed).
        known, gates = await asyncio.gather(
            self.cache.get(known_key), self._gates([*buckets, address_bucket])
        )
        if address and known is None:
            buckets.append(address_bucket)
        else:
            gates.pop()
        now = self._timestamp()
        # Waiting buckets refuse before anything is counted: a refused guess costs nothing.
        # Capped by each bucket's longest wait, so a clock set back cannot lock anyone out.
        wait = max(
            (min(until - now, b.max_delay) for b, (_, until) in zip(buckets, gates, strict=True)),
            default=0.0,
        )
        if wait > 0:
            raise LoginThrottled(max(1, math.ceil(wait)))
        taken = await asyncio.gather(
            *(
                self._take(bucket, raw, now)
                for bucket, (raw, _) in zip(buckets, gates, strict=True)
                if bucket.strict
            ),
            return_exceptions=True,
        )
        refusals = [error for error in taken if isinstance(error, BaseException)]
        if refusals:
            throttled = [e for e in refusals if isinstance(e, LoginThrottled)]
            if len(throttled) < len(refusals):  # a cache failure, not a refusal
                raise next(e for e in refusals if not isinstance(e, LoginThrottled))
            raise max(throttled, key=lambda e: int(e.extra["retry_after"]))
        return Attempt(tuple(buckets), known_key)

    async def _take(self, bucket: Bucket, gate: bytes | None, now: float) -> None:
        ordinal = await self.cache.incr(self._count_key(bucket, now), 2 * self._window())
        delay = bucket.delay(ordinal)
        if delay == 0:
            return
        # Past the free attempts only one attempt per gate goes on: the first to count on the
        # gate as it was read. Concurrent ones lose here, atomically, on both cache kinds.
        claim = f"{PREFIX}claim:{bucket.key}:{(gate or b'open').decode()}"
        if await self.cache.incr(claim, CLAIM_SECONDS) > 1:
            _, until = await self._until(bucket)
            raise LoginThrottled(max(1, math.ceil(until - now)) if until > now else delay)
        await self._close(bucket, now + delay)

    async def _close(self, bucket: Bucket, until: float) -> None:
        # Each gate value is unique (a nonce after the time), so a claim names one gate only.
        value = f"{until!r} {secrets.token_hex(6)}".encode()
        await self.cache.set(
            f"{PREFIX}until:{bucket.key}", value, self._window() + bucket.max_delay
        )

    async def failed(self, attempt: Attempt) -> None:
        now = self._timestamp()
        for bucket in attempt.buckets:
            if not bucket.strict:
                ordinal = await self.cache.incr(self._count_key(bucket, now), 2 * self._window())
                delay = bucket.delay(ordinal)
                if delay:
                    await self._close(bucket, now + delay)

    async def succeeded(self, attempt: Attempt) -> None:
        now = self._timestamp()
        strict = [bucket for bucket in attempt.buckets if bucket.strict]
        await asyncio.gather(
            self.cache.delete(*(self._count_key(bucket, now) for bucket in strict)),
            # Open now, under a fresh gate value.
            *(self._close(bucket, now) for bucket in strict),
            self.cache.set(attempt.known_key, b"1", KNOWN_FOR_SECONDS),
        )
