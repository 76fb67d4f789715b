"""Inbox: makes every consumer idempotent by recording (consumer, message id) in its transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table
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
        dialect = session.bind.dialect.name
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
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
