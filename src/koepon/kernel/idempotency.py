"""Our own ``Idempotency-Key``: claim a key, checkpoint the steps, store and replay the response.

DESIGN.md "Idempotency". A key is scoped to its caller. The first request *claims* the key by
inserting its row (insert-first, so two concurrent claims cannot both win on PostgreSQL or
SQLite) in a transaction of its own that commits at once; concurrent requests then see it
``in_flight`` and get 409 with ``Retry-After``. The use case records *recovery points* (the step
it reached, e.g. "the checkout row exists, the provider is next") in its own transactions, and
stores the final response in the same transaction as its last business write, so a response is
stored if and only if its effects committed. A claimant that crashes leaves the key locked until
``locked_until``; after that a retry takes the key over and resumes from the recovery point.
Same key with a different request (method, path, canonical JSON body) → 422.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import Request
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

from koepon.kernel.db import Database
from koepon.kernel.problems import Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
State = Literal["in_flight", "completed"]
Clock = Callable[[], datetime]


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


def valid_key(key: str) -> bool:
    """1–255 printable ASCII characters (no spaces at the ends, no control characters)."""
    return (
        0 < len(key) <= MAX_KEY_LENGTH
        and all(0x20 <= ord(ch) < 0x7F for ch in key)
        and key == key.strip()
    )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of method, path and the canonical form of the JSON body (raw bytes if not JSON),
    so that key order and whitespace do not make two equal requests differ."""
    try:
        canonical = canonical_json(json.loads(body)) if body.strip() else ""
    except (ValueError, UnicodeDecodeError):
        canonical = body.hex()
    digest = hashlib.sha256()
    for part in (method.upper(), path, canonical):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def key_from(request: Request, *, required: bool) -> str | None:
    """The request's ``Idempotency-Key``, validated; 400 when missing but required."""
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            raise Problem(
                400,
                "idempotency_key_required",
                f"This request needs an {HEADER} header (1–255 printable characters), "
                "so that retrying it can never do the work twice",
            )
        return None
    if not valid_key(key):
        raise Problem(
            400,
            "idempotency_key_invalid",
            f"{HEADER} must be 1–255 printable ASCII characters without surrounding spaces",
        )
    return key


async def request_fingerprint(request: Request) -> str:
    return fingerprint(request.method, request.url.path, await request.body())


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


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return moment


class IdempotencyKeys:
    """The idempotency keys of one service, kept in its own database."""

    def __init__(
        self,
        db: Database,
        table: Table,
        *,
        lock_seconds: int = 60,
        keep_hours: int = 24,
        clock: Clock = _now,
    ) -> None:
        if keep_hours < 24:
            raise ValueError("Idempotency keys are kept at least 24 hours (DESIGN.md)")
        self.db = db
        self.table = table
        self.lock = timedelta(seconds=lock_seconds)
        self.keep = timedelta(hours=keep_hours)
        self.clock = clock

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
                return Claim(scope, key)
            row = (await session.execute(select(self.table).where(self._where((scope, key))))).one()
            if _aware(row.expires_at) <= now:  # type: ignore[operator]
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
                return Claim(scope, key)
            if row.fingerprint != fingerprint:
                raise Problem(
                    422,
                    "idempotency_key_reused",
                    f"This {HEADER} was already used for a different request; "
                    "use a new key for a new request",
                )
            if row.state == "completed":
                return StoredResponse(row.response_status, row.response_body)
            locked_until = _aware(row.locked_until)
            if locked_until is not None and locked_until > now:
                wait = max(1, math.ceil((locked_until - now).total_seconds()))
                raise Problem(
                    409,
                    "idempotency_in_flight",
                    "A request with this Idempotency-Key is still being processed; retry later",
                    headers={"Retry-After": str(min(wait, 5))},
                )
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
                raise Problem(
                    409,
                    "idempotency_in_flight",
                    "A request with this Idempotency-Key is still being processed; retry later",
                    headers={"Retry-After": "1"},
                )
            return Claim(scope, key, row.recovery_point, row.recovery_data)

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
        """Give the key up after a retryable failure, so a retry can run (own transaction)."""
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

    async def purge_expired(self) -> int:
        """Delete keys past their keeping time; returns how many."""
        async with self.db.transaction() as session:
            result = await session.execute(
                delete(self.table).where(self.table.c.expires_at <= self.clock())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
