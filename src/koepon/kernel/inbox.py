"""Inbox: makes every consumer idempotent by recording (consumer, message id) in its transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.bus import Handler, Message
from koepon.kernel.db import Database


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("message_id", String(200), primary_key=True),
        Column("topic", String(200), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False),
    )


class Inbox:
    def __init__(self, table: Table) -> None:
        self.table = table

    async def claim(
        self, session: AsyncSession, *, consumer: str, message_id: str, topic: str
    ) -> bool:
        """True the first time this consumer sees this message id (in this transaction)."""
        dialect = session.get_bind().dialect.name
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        # A concurrent claim of the same key waits for the first transaction on the primary
        # key, then finds the row (it committed) or inserts (it rolled back): never both.
        stmt = (
            insert_(self.table)
            .values(
                consumer=consumer,
                message_id=message_id,
                topic=topic,
                received_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing()
        )
        result = await session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def purge(self, session: AsyncSession, *, older_than: timedelta) -> int:
        """Forget messages received more than ``older_than`` ago; keep it far longer than any
        redelivery can take (the outbox keeps published rows 7 days), or a late duplicate
        would be applied again."""
        cutoff = datetime.now(UTC) - older_than
        result = await session.execute(delete(self.table).where(self.table.c.received_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


ConsumerFn = Callable[[AsyncSession, Message], Awaitable[None]]


def idempotent(db: Database, inbox: Inbox, consumer: str, fn: ConsumerFn) -> Handler:
    """Wrap ``fn`` so it runs at most once per message id, in one transaction with its effects."""

    async def handle(message: Message) -> None:
        async with db.transaction() as session:
            if await inbox.claim(
                session, consumer=consumer, message_id=message.id, topic=message.topic
            ):
                await fn(session, message)

    return handle
