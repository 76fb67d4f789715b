"""Transactional outbox: events are rows written in the business transaction, then relayed.

An event whose transaction rolls back never exists; one that commits is published at least
once (message id = outbox id) and consumers dedupe through the inbox, so each consumer
applies it exactly once. RabbitMQ being down only delays the relay: rows wait, nothing is lost.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Row,
    Select,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts import Event
from koepon.kernel import jobs
from koepon.kernel.bus import Message, Publisher
from koepon.kernel.clock import as_utc
from koepon.kernel.db import Database, mark
from koepon.kernel.metrics import OUTBOX_LAG, OUTBOX_RELAY_FAILURES, service_of
from koepon.kernel.tracing import keep_in_payload, take_from_payload

log = structlog.get_logger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("topic", String(200), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_pending", "published_at", "created_at"),
    )


# The mark of a unit of work that wrote an event: only its commit wakes the relay (any other
# commit would make it look for rows and find none: a third of a draw's statements).
EVENT_WRITTEN = "outbox.event_written"


class Outbox:
    """Writes events into the current transaction of one service."""

    def __init__(self, table: Table) -> None:
        self.table = table

    async def add(self, session: AsyncSession, event: Event) -> str:
        message_id = str(uuid.uuid4())
        payload = event.model_dump(mode="json")
        keep_in_payload(payload)  # the trace context, when tracing is on
        mark(session, EVENT_WRITTEN)
        await session.execute(
            insert(self.table).values(
                id=message_id,
                topic=event.topic,
                payload=payload,
                created_at=datetime.now(UTC),
                attempts=0,
            )
        )
        return message_id


class OutboxRelay:
    """Moves committed outbox rows to the bus, oldest first, one relay's rows in order.

    PostgreSQL: the rows of a batch stay locked (``FOR UPDATE SKIP LOCKED``) from selection
    until they are marked published, so parallel relays (one per worker process) never publish
    the same row twice; only a crash between the broker's confirm and the commit republishes
    a row, which the consumers' inboxes absorb. SQLite (embedded): one relay per process.
    """

    def __init__(
        self,
        db: Database,
        table: Table,
        publisher: Publisher,
        *,
        poll_seconds: float = 0.5,
        batch: int = 100,
        max_backoff_seconds: float = 5.0,
        retention: timedelta | None = timedelta(days=7),
        purge_every_seconds: float = 3600.0,
    ) -> None:
        self.db = db
        self.table = table
        self.publisher = publisher
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.max_backoff_seconds = max(max_backoff_seconds, poll_seconds)
        self.retention = retention
        self.purge_every_seconds = purge_every_seconds
        self.failures = 0  # consecutive relay rounds that could not publish
        service = service_of(db)
        self._lag = OUTBOX_LAG.labels(service)
        self._failures_gauge = OUTBOX_RELAY_FAILURES.labels(service)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    def _pending(self) -> Select[Any]:
        return (
            select(self.table)
            .where(self.table.c.published_at.is_(None))
            .order_by(self.table.c.created_at, self.table.c.id)
            .limit(self.batch)
        )

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows were published."""
        async with self._lock:
            if self.db.is_postgres:
                # Not ``db.transaction()``: its commit would call the after-commit hooks, which
                # wake this relay, so an idle relay would poll the database without pause.
                async with self.db.sessionmaker() as session, session.begin():
                    rows = (
                        await session.execute(self._pending().with_for_update(skip_locked=True))
                    ).all()
                    published, failure = await self._publish(rows)
                    await self._record(session, published, failure)
                return len(published)
            # SQLite: hold no lock while publishing, because in-process handlers write to
            # these same files; a crash before the mark only republishes (inbox dedupes).
            # A read-only unit: it reads a snapshot and never waits for another writer's lock.
            async with self.db.transaction(read_only=True) as session:
                rows = (await session.execute(self._pending())).all()
            published, failure = await self._publish(rows)
            if published or failure:
                async with self.db.transaction() as session:
                    await self._record(session, published, failure)
            return len(published)

    async def _publish(self, rows: Sequence[Row[Any]]) -> tuple[list[str], tuple[str, str] | None]:
        """Publish rows in order until one fails; returns (published ids, (failed id, error))."""
        published: list[str] = []
        for row in rows:
            payload, headers = take_from_payload(row.payload)
            message = Message(
                id=row.id,
                topic=row.topic,
                payload=payload,
                occurred_at=as_utc(row.created_at),
                headers=headers,
            )
            try:
                await self.publisher.publish(message)
            except Exception as exc:
                log.warning("outbox.publish_failed", message_id=row.id, error=repr(exc))
                self.failures += 1
                self._observe_lag(row.created_at)
                return published, (row.id, repr(exc)[:2000])  # later rows wait: keep order
            published.append(row.id)
        self.failures = 0
        # Rows come oldest first: after a full batch, what is left is at most this old.
        self._observe_lag(rows[-1].created_at if len(rows) >= self.batch else None)
        return published, None

    def _observe_lag(self, oldest_pending: datetime | None) -> None:
        """``koepon_outbox_lag_seconds`` from what this round saw, at no extra query."""
        age = (datetime.now(UTC) - as_utc(oldest_pending)).total_seconds() if oldest_pending else 0
        self._lag.set(max(age, 0.0))
        self._failures_gauge.set(self.failures)

    async def _record(
        self, session: AsyncSession, published: list[str], failure: tuple[str, str] | None
    ) -> None:
        if published:
            await session.execute(
                update(self.table)
                .where(self.table.c.id.in_(published))
                .values(published_at=datetime.now(UTC))
            )
        if failure:
            failed_id, error = failure
            await session.execute(
                update(self.table)
                .where(self.table.c.id == failed_id)
                .values(attempts=self.table.c.attempts + 1, last_error=error)
            )

    async def pending_count(self) -> int:
        async with self.db.sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(self.table)
                .where(self.table.c.published_at.is_(None))
            )
        return int(count or 0)

    async def purge_published(self, older_than: timedelta) -> int:
        """Delete rows published more than ``older_than`` ago; returns how many."""
        cutoff = datetime.now(UTC) - older_than
        async with self.db.transaction() as session:
            result = await session.execute(
                delete(self.table).where(self.table.c.published_at < cutoff)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; wakes on commit or every ``poll_seconds``, and backs off
        (up to ``max_backoff_seconds``) while the bus refuses messages."""
        next_purge = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            jobs.end_if_stopping()
            self._wake.clear()  # before looking, so a commit during this pass is not missed
            try:
                published = await self.relay_once()
            except Exception as exc:
                log.warning("outbox.relay_error", error=repr(exc))
                self.failures += 1
                self._failures_gauge.set(self.failures)
                published = 0
            if self.retention is not None and loop.time() >= next_purge:
                next_purge = loop.time() + self.purge_every_seconds
                try:
                    await self.purge_published(self.retention)
                except Exception as exc:
                    log.warning("outbox.purge_error", error=repr(exc))
            if self.failures:
                delay = min(
                    self.poll_seconds * 2 ** min(self.failures, 16), self.max_backoff_seconds
                )
                await jobs.pause(delay, stop)
                continue
            if published >= self.batch:
                continue
            await jobs.pause(self.poll_seconds, self._wake)
