"""Transactional outbox: events are rows written in the business transaction, then relayed.

An event whose transaction rolls back never exists; one that commits is published at least
once (message id = outbox id) and consumers dedupe through the inbox, so each consumer
applies it exactly once. RabbitMQ being down only delays the relay: rows wait, nothing is lost.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

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
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts import Event
from koepon.kernel.bus import Message, Publisher
from koepon.kernel.db import Database

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


class Outbox:
    """Writes events into the current transaction of one service."""

    def __init__(self, table: Table) -> None:
        self.table = table

    async def add(self, session: AsyncSession, event: Event) -> str:
        message_id = str(uuid.uuid4())
        await session.execute(
            insert(self.table).values(
                id=message_id,
                topic=event.topic,
                payload=event.model_dump(mode="json"),
                created_at=datetime.now(UTC),
                attempts=0,
            )
        )
        return message_id


class OutboxRelay:
    """Moves committed outbox rows to the bus, oldest first."""

    def __init__(
        self,
        db: Database,
        table: Table,
        publisher: Publisher,
        *,
        poll_seconds: float = 0.5,
        batch: int = 100,
    ) -> None:
        self.db = db
        self.table = table
        self.publisher = publisher
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    def _pending(self):  # type: ignore[no-untyped-def]
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
                # Rows stay locked while they are published, so parallel relays skip them.
                async with self.db.transaction() as session:
                    rows = (
                        await session.execute(self._pending().with_for_update(skip_locked=True))
                    ).all()
                    return await self._publish(session, rows)
            # SQLite (embedded): one relay per process; publish outside the write lock,
            # because in-process handlers may write to this same database.
            async with self.db.sessionmaker() as session:
                rows = (await session.execute(self._pending())).all()
            async with self.db.transaction() as session:
                return await self._publish(session, rows)

    async def _publish(self, session: AsyncSession, rows: list) -> int:  # type: ignore[type-arg]
        done: list[str] = []
        for row in rows:
            message = Message(
                id=row.id, topic=row.topic, payload=row.payload, occurred_at=row.created_at
            )
            try:
                await self.publisher.publish(message)
            except Exception as exc:
                log.warning("outbox.publish_failed", message_id=row.id, error=repr(exc))
                await session.execute(
                    update(self.table)
                    .where(self.table.c.id == row.id)
                    .values(attempts=self.table.c.attempts + 1, last_error=repr(exc)[:2000])
                )
                break  # keep order: later rows wait for this one
            done.append(row.id)
        if done:
            await session.execute(
                update(self.table)
                .where(self.table.c.id.in_(done))
                .values(published_at=datetime.now(UTC))
            )
        return len(done)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; wakes on commit or every ``poll_seconds``."""
        while not stop.is_set():
            try:
                published = await self.relay_once()
            except Exception as exc:
                log.warning("outbox.relay_error", error=repr(exc))
                published = 0
            if published >= self.batch:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
