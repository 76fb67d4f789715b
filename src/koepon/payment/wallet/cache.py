"""Cached wallet pages, keyed by the wallet's version so a cached page is never stale.

The version is read from the database with every request (the fan's four ledger account rows,
which change in the same transaction as any change to their lots), so no invalidation is needed:
a change makes a new key and the old entry simply expires. A cache that is down or slow costs a
database read, never a wrong balance.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import datetime

import structlog
from pydantic import BaseModel

from koepon.kernel.cache import Cache
from koepon.payment.ledger.rules import Balance
from koepon.payment.wallet.schemas import WalletRead

log = structlog.get_logger(__name__)
CACHE_TTL_SECONDS = 30


def wallet_version(balances: dict[str, Balance], *, free_first: bool) -> str:
    """A short digest of the fan's account balances (and the spend-order setting they are
    shown with): any transfer on the wallet changes it."""
    parts = [
        f"{account}:{b.debits_pending}:{b.debits_posted}:{b.credits_pending}:{b.credits_posted}"
        for account, b in sorted(balances.items())
    ]
    parts.append("free_first" if free_first else "paid_first")
    return hashlib.blake2s("|".join(parts).encode(), digest_size=12).hexdigest()


class CachedPage(BaseModel):
    page: WalletRead
    until: datetime | None = None


class WalletPages:
    """Wallet pages in the shared cache, one entry per (fan, version)."""

    def __init__(
        self, cache: Cache, clock: Callable[[], datetime], ttl_seconds: int = CACHE_TTL_SECONDS
    ) -> None:
        self.cache = cache
        self.clock = clock
        self.ttl_seconds = ttl_seconds

    @staticmethod
    def key(user_id: str, version: str) -> str:
        return f"payment:wallet:{user_id}:{version}"

    async def get(self, user_id: str, version: str) -> WalletRead | None:
        try:
            raw = await self.cache.get(self.key(user_id, version))
        except Exception as exc:  # the database answers instead
            log.warning("wallet.cache_unavailable", error=repr(exc))
            return None
        if not raw:
            return None
        entry = CachedPage.model_validate_json(raw)
        # The business clock decides (tests move it by days without waiting for the TTL).
        if entry.until is not None and self.clock() >= entry.until:
            return None
        return entry.page

    async def put(
        self, user_id: str, version: str, page: WalletRead, *, until: datetime | None = None
    ) -> None:
        """Cache ``page`` for at most ``ttl_seconds``, and never past ``until`` (when it would
        change by itself: a lot expiring or entering the notice period)."""
        ttl = self.ttl_seconds
        if until is not None:
            ttl = min(ttl, math.floor((until - self.clock()).total_seconds()))
        if ttl < 1:
            return  # about to change: not worth caching
        entry = CachedPage(page=page, until=until)
        try:
            await self.cache.set(self.key(user_id, version), entry.model_dump_json().encode(), ttl)
        except Exception as exc:
            log.warning("wallet.cache_unavailable", error=repr(exc))
