"""Our own ``Idempotency-Key``: claim a key, checkpoint the steps, store and replay the response.

DESIGN.md "Idempotency". A key is scoped to its caller. The first request *claims* the key by
inserting its row (insert-first, so two concurrent claims cannot both win on PostgreSQL or
SQLite) in a transaction of its own that commits at once; concurrent requests then see it
``in_flight`` and get 409 with ``Retry-After``. The use case records *recovery points* (the step
it reached, e.g. "the checkout row exists, the provider is next") in its own transactions, and
stores the final response in the same transaction as its last business write, so a response is
stored if and only if its effects committed.

The claim's lock is short and renewed in the background while the claimant works, so a crashed
claimant holds the key for at most one lock period; a retry then takes the key over and resumes
from the recovery point. Releasing a key after a failure is retried in the background with
back-off when the database itself is what failed, so the fan can retry as soon as it is back.

Routes read the header through ``idempotency_key`` and bind a key to ``request_fingerprint``
(both in ``kernel/idempotency_header.py``, which also lists the answers every service gives).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import structlog
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.clock import Now, as_utc, utcnow
from koepon.kernel.db import Database
from koepon.kernel.idempotency_header import (
    HEADER,
    MAX_KEY_LENGTH,
    canonical_json,
    checked_key,
    fingerprint,
    idempotency_key,
    request_fingerprint,
    valid_key,
)
from koepon.kernel.problems import Problem

log = structlog.get_logger(__name__)

# The header's names stay importable from here, where routes have always found them.
__all__ = [
    "HEADER",
    "MAX_KEY_LENGTH",
    "Claim",
    "IdempotencyKeys",
    "StoredResponse",
    "canonical_json",
    "checked_key",
    "fingerprint",
    "idempotency_key",
    "idempotency_table",
    "request_fingerprint",
    "valid_key",
]
# A leaked claim (neither completed nor released) stops being renewed after this long.
MAX_HOLD_SECONDS = 600
# Back-off of a release that failed because the database was unreachable.
RELEASE_BACKOFF_SECONDS = (0.25, 0.5, 1.0, 2.0)
State = Literal["in_flight", "completed"]


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("scope", String(64), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("state", String(16), nullable=False),
        Column("response_status", Integer, nullable=True),
        Column("response_body", JSON, nullable=True),
        Column("recovery_point", String(64), nullable=True),
        Column("recovery_data", JSON, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("locked_until", DateTime(timezone=True), nullable=True),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )


@dataclass(frozen=True)
class StoredResponse:
    """The response of a completed request, replayed for every retry with the same key."""

    status: int
    body: Any


@dataclass(frozen=True)
class Claim:
    """The right to run one request; carries the recovery point a crashed attempt reached."""

    scope: str
    key: str
    recovery_point: str | None = None
    recovery_data: dict[str, Any] | None = None


def _in_flight(retry_after: int) -> Problem:
    return Problem(
        409,
        "idempotency_in_flight",
        f"A request with this {HEADER} is still being processed; retry later",
        headers={"Retry-After": str(retry_after)},
    )


class IdempotencyKeys:
    """The idempotency keys of one service, kept in its own database."""

    def __init__(
        self,
        db: Database,
        table: Table,
        *,
        lock_seconds: int = 60,
        keep_hours: int = 24,
        clock: Now = utcnow,
    ) -> None:
        if keep_hours < 24:
            raise ValueError("Idempotency keys are kept at least 24 hours (DESIGN.md)")
        self.db = db
        self.table = table
        self.lock = timedelta(seconds=lock_seconds)
        self.keep = timedelta(hours=keep_hours)
        self.clock = clock
        # Renew well before the lock runs out, so one slow renewal does not free the key.
        self.renew_seconds = lock_seconds / 3
        self._renewals: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._releases: set[asyncio.Task[None]] = set()

    def _insert(self, session: AsyncSession):  # type: ignore[no-untyped-def]
        dialect = session.get_bind().dialect.name
        return pg_insert if dialect == "postgresql" else sqlite_insert

    def _where(self, claim: Claim | tuple[str, str]):  # type: ignore[no-untyped-def]
        scope, key = (claim.scope, claim.key) if isinstance(claim, Claim) else claim
        return (self.table.c.scope == scope) & (self.table.c.key == key)

    async def claim(self, *, scope: str, key: str, fingerprint: str) -> Claim | StoredResponse:
        """Claim ``key`` for this request (own transaction, committed before returning).

        Returns the stored response when the same request already completed; raises 422 when
        the key was used for a different request and 409 while another attempt holds it.
        """
        now = self.clock()
        async with self.db.transaction() as session:
            insert_ = self._insert(session)
            inserted = await session.execute(
                insert_(self.table)
                .values(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    state="in_flight",
                    created_at=now,
                    locked_until=now + self.lock,
                    expires_at=now + self.keep,
                )
                .on_conflict_do_nothing()
            )
            if inserted.rowcount:  # type: ignore[attr-defined]
                return self._hold(Claim(scope, key))
            row = (await session.execute(select(self.table).where(self._where((scope, key))))).one()
            if as_utc(row.expires_at) <= now:
                # An expired key starts a new life: forget the old request entirely.
                await session.execute(
                    update(self.table)
                    .where(self._where((scope, key)))
                    .values(
                        fingerprint=fingerprint,
                        state="in_flight",
                        response_status=None,
                        response_body=None,
                        recovery_point=None,
                        recovery_data=None,
                        created_at=now,
                        locked_until=now + self.lock,
                        expires_at=now + self.keep,
                    )
                )
                return self._hold(Claim(scope, key))
            if row.fingerprint != fingerprint:
                raise Problem(
                    422,
                    "idempotency_key_reused",
                    f"This {HEADER} was already used for a different request; "
                    "use a new key for a new request",
                )
            if row.state == "completed":
                return StoredResponse(row.response_status, row.response_body)
            if row.locked_until is not None and as_utc(row.locked_until) > now:
                wait = math.ceil((as_utc(row.locked_until) - now).total_seconds())
                raise _in_flight(min(max(1, wait), 5))
            # The earlier attempt died or gave up: take the key over, guarded by the old lock
            # value so that only one of several concurrent retries wins.
            taken = await session.execute(
                update(self.table)
                .where(self._where((scope, key)))
                .where(self.table.c.state == "in_flight")
                .where(
                    self.table.c.locked_until.is_(None)
                    if row.locked_until is None
                    else self.table.c.locked_until == row.locked_until
                )
                .values(locked_until=now + self.lock)
            )
            if not taken.rowcount:  # type: ignore[attr-defined]
                raise _in_flight(1)
            return self._hold(Claim(scope, key, row.recovery_point, row.recovery_data))

    def _hold(self, claim: Claim) -> Claim:
        """Keep renewing ``claim``'s lock while this process works on it."""
        ident = (claim.scope, claim.key)
        self._stop_renewing(ident)
        self._renewals[ident] = asyncio.create_task(self._renew(claim))
        return claim

    def _stop_renewing(self, ident: tuple[str, str]) -> None:
        task = self._renewals.pop(ident, None)
        if task is not None:
            task.cancel()

    async def _renew(self, claim: Claim) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + MAX_HOLD_SECONDS
        while loop.time() < give_up:
            await asyncio.sleep(self.renew_seconds)
            try:
                async with self.db.transaction() as session:
                    await session.execute(
                        update(self.table)
                        .where(self._where(claim))
                        .where(self.table.c.state == "in_flight")
                        .values(locked_until=self.clock() + self.lock)
                    )
            except Exception as exc:
                # The lock then simply runs out; the next renewal may get through.
                log.warning("idempotency.renew_failed", error_type=type(exc).__name__)
        self._renewals.pop((claim.scope, claim.key), None)

    async def checkpoint(
        self,
        session: AsyncSession,
        claim: Claim,
        point: str,
        data: dict[str, Any] | None = None,
    ) -> Claim:
        """Record the step reached, in the caller's transaction (atomic with that step)."""
        await session.execute(
            update(self.table)
            .where(self._where(claim))
            .values(
                recovery_point=point,
                recovery_data=data,
                locked_until=self.clock() + self.lock,
            )
        )
        return Claim(claim.scope, claim.key, point, data)

    async def complete(
        self, session: AsyncSession, claim: Claim, *, status: int, body: Any
    ) -> StoredResponse:
        """Store the response in the caller's transaction: it exists iff the effects commit."""
        self._stop_renewing((claim.scope, claim.key))
        await session.execute(
            update(self.table)
            .where(self._where(claim))
            .values(
                state="completed",
                response_status=status,
                response_body=body,
                locked_until=None,
            )
        )
        return StoredResponse(status, body)

    async def release(self, claim: Claim, *, forget_recovery: bool = False) -> None:
        """Give the key up after a failure, so a retry can run at once (own transaction).

        Never raises: when the database is what failed, the release is retried in the
        background with back-off until it gets through (meanwhile the lock, no longer renewed,
        runs out by itself), so the fan's retry works as soon as the database is back."""
        self._stop_renewing((claim.scope, claim.key))
        try:
            await self._release(claim, forget_recovery=forget_recovery)
        except Exception as exc:
            log.warning("idempotency.release_deferred", error_type=type(exc).__name__)
            task = asyncio.create_task(self._release_later(claim, forget_recovery))
            self._releases.add(task)
            task.add_done_callback(self._releases.discard)

    async def _release(self, claim: Claim, *, forget_recovery: bool) -> None:
        values: dict[str, Any] = {"locked_until": self.clock()}
        if forget_recovery:
            values |= {"recovery_point": None, "recovery_data": None}
        async with self.db.transaction() as session:
            await session.execute(
                update(self.table)
                .where(self._where(claim))
                .where(self.table.c.state == "in_flight")
                .values(**values)
            )

    async def _release_later(self, claim: Claim, forget_recovery: bool) -> None:
        attempt = 0
        while True:
            await asyncio.sleep(
                RELEASE_BACKOFF_SECONDS[min(attempt, len(RELEASE_BACKOFF_SECONDS) - 1)]
            )
            attempt += 1
            try:
                await self._release(claim, forget_recovery=forget_recovery)
                log.info("idempotency.released_late", attempts=attempt)
                return
            except Exception as exc:
                log.warning("idempotency.release_retry_failed", error_type=type(exc).__name__)

    async def settle(self) -> None:
        """Wait for releases still being retried (tests, and shutdown)."""
        while self._releases:
            await asyncio.gather(*list(self._releases), return_exceptions=True)

    async def close(self) -> None:
        """Stop renewing and retrying (shutdown); locks then run out by themselves."""
        for task in [*self._renewals.values(), *self._releases]:
            task.cancel()
        self._renewals.clear()

    async def purge_expired(self) -> int:
        """Delete keys past their keeping time; returns how many."""
        async with self.db.transaction() as session:
            result = await session.execute(
                delete(self.table).where(self.table.c.expires_at <= self.clock())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
