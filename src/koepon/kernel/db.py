"""One service's database: async engine, one transaction per unit of work, after-commit hooks.

PostgreSQL: every service lives in its own schema of the configured database (the models are
schema-less; the connection's ``search_path`` places them, so no table is ever shared).
SQLite (embedded): one file per service; write transactions start with ``BEGIN IMMEDIATE`` so
concurrent writers queue instead of failing; read-only ones (``read_only=True``, and the request
session of GET/HEAD/OPTIONS) start deferred, so reads never wait for the one write lock.

Read replica (PostgreSQL only, ``KOEPON_DATABASE_REPLICA_URL``): ``Database.reader`` is a second
engine on a hot standby, same schema, every transaction read-only. Only reads that may lag
behind the primary by the replica's delay use it (public catalogue, directory, history lists);
anything deciding money, idempotency or auth uses the primary. Without a replica (or on SQLite)
the reader is the primary itself.

Reads of requests share half the primary's connections (PostgreSQL): a storm of GETs (fans
polling their draws while a gacha opens on stream) waits for its own turn and, past the pool's
wait, answers 503, while the draws, payments and background work keep the other half.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from starlette.requests import Request

# Safe methods (RFC 9110 §9.2.1) change nothing, so their request session only reads.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


POOL_TIMEOUT_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 5
# A pooled connection idle longer than this is checked before use (see _ping_idle_connections).
IDLE_PING_SECONDS = 2.0


_MARKS = "koepon.marks"


def mark(session: AsyncSession, name: str) -> None:
    """Note that this unit of work did ``name`` (hooks registered with ``on_commit(...,
    marked=name)`` run after it commits)."""
    session.info.setdefault(_MARKS, set()).add(name)


class DatabaseUnreachable(ConnectionError):
    """No connection to the database could be opened (refused, reset, timed out).

    The driver raises a bare ``OSError`` there, which names no dependency; this does, so the
    edge can answer 503 "database unavailable" instead of a 500."""


class Database:
    """Engine and unit of work of one service."""

    def __init__(
        self,
        url: str,
        schema: str | None = None,
        *,
        pool_size: int = 10,
        replica_url: str | None = None,
        read_only: bool = False,
    ) -> None:
        self.url = url
        self.schema = schema
        self.is_sqlite = url.startswith("sqlite")
        # Every transaction read-only (a replica's engine): a write is refused by the server.
        self.read_only = read_only
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 60}
            kwargs["pool_size"] = 5
            kwargs["max_overflow"] = 0
            kwargs["pool_timeout"] = 120
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            # Bounded waits: an unreachable or saturated database answers 503 in seconds
            # instead of holding the request (asyncpg would try to connect for 60 s).
            kwargs["pool_timeout"] = POOL_TIMEOUT_SECONDS
            connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_SECONDS}
            server_settings: dict[str, str] = {}
            if schema:
                server_settings["search_path"] = schema
            if read_only:
                server_settings["default_transaction_read_only"] = "on"
            if server_settings:
                connect_args["server_settings"] = server_settings
            kwargs["connect_args"] = connect_args
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        # True while a read-only unit of work of this database runs in the current context; the
        # SQLite begin hook reads it (transactions begin lazily, at their first statement).
        self._reading: ContextVar[bool] = ContextVar(f"koepon_db_reading_{id(self)}", default=False)
        if self.is_sqlite:
            _sqlite_serialised_writes(self.engine, self._reading)
        else:
            _named_connect_failures(self.engine)
            _ping_idle_connections(self.engine)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._after_commit: list[tuple[Callable[[], None], str | None]] = []
        # Request reads (GET/HEAD/OPTIONS sessions) at once on this primary: half of its
        # connections (pool_size of pool_size + max_overflow). None: not limited (SQLite, whose
        # reads never hold the write lock; a replica, which serves nothing else).
        self._request_reads: asyncio.Semaphore | None = None
        if not self.is_sqlite and not read_only:
            self._request_reads = asyncio.Semaphore(pool_size)
        self._holding_read: ContextVar[bool] = ContextVar(
            f"koepon_db_request_read_{id(self)}", default=False
        )
        # Where reads that may lag go: a read-only engine on the replica, or this database.
        self.reader: Database = self
        if replica_url and not self.is_sqlite:
            self.reader = Database(replica_url, schema, pool_size=pool_size, read_only=True)

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")

    def on_commit(self, hook: Callable[[], None], *, marked: str | None = None) -> None:
        """Call ``hook`` after every committed unit of work, or only after those whose session
        was ``mark``-ed with ``marked`` (e.g. wake the outbox relay when an event was written)."""
        self._after_commit.append((hook, marked))

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back if it raises.

        ``read_only``: the block only reads. On SQLite it then takes no write lock (a deferred
        transaction reads a snapshot beside a writer); a write in it may be refused with
        "database is locked" while another writer is active, so never write in one.
        """
        read_only = read_only or self.read_only
        outer = self._reading.get()
        self._reading.set(read_only)
        try:
            async with self.sessionmaker() as session, session.begin():
                yield session
        finally:
            # Not ``reset``: a dependency's exit may run in a copy of the request's context.
            self._reading.set(outer)
        if read_only:
            # Nothing was written, so nothing to relay: a read must not wake the outbox relay
            # (which would otherwise poll the database after every GET).
            return
        marks = session.info.get(_MARKS, ())
        for hook, marked in self._after_commit:
            if marked is None or marked in marks:
                hook()

    async def session_dependency(self, request: Request) -> AsyncIterator[AsyncSession]:
        """FastAPI dependency (use with ``scope="function"``): one transaction per request,
        read-only for the safe methods (a GET must change nothing)."""
        if request.method not in READ_METHODS:
            async with self.transaction() as session:
                yield session
            return
        async with self._request_read_turn(), self.transaction(read_only=True) as session:
            yield session

    @asynccontextmanager
    async def _request_read_turn(self) -> AsyncIterator[None]:
        """A share of the pool for request reads (see the module's docstring); waits at most as
        long as the pool would, then fails as the pool does (503, database)."""
        turns = self._request_reads
        if turns is None or self._holding_read.get():
            yield
            return
        try:
            await asyncio.wait_for(turns.acquire(), timeout=POOL_TIMEOUT_SECONDS)
        except TimeoutError:
            raise PoolTimeout(
                f"no turn for a read within {POOL_TIMEOUT_SECONDS} s: reads hold their share "
                "of the pool"
            ) from None
        self._holding_read.set(True)
        try:
            yield
        finally:
            self._holding_read.set(False)
            turns.release()

    async def dispose(self) -> None:
        if self.reader is not self:
            await self.reader.dispose()
        await self.engine.dispose()


def _named_connect_failures(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except (OSError, TimeoutError) as exc:
            # The message may hold the host; the DSN itself never reaches it.
            raise DatabaseUnreachable(f"database connection failed: {type(exc).__name__}") from exc


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Check a pooled connection before use only if it sat idle for ``IDLE_PING_SECONDS``.

    A PostgreSQL restart or a dropped network leaves idle pooled connections dead; checking
    each before use (``pool_pre_ping``) spared the request that would have found one, but cost
    a round trip per transaction — about twelve per draw, 5–8 % of a draw's CPU in the draws
    benchmark. A connection returned a moment ago was alive a moment ago; one that died since
    fails its statement, which invalidates the pool as before. A dead idle one makes the pool
    connect afresh (``DisconnectionError``), so no request sees it."""

    @event.listens_for(engine.sync_engine, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info["koepon_idle_since"] = None

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["koepon_idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("koepon_idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever broke it, a fresh connection replaces it
            raise DisconnectionError("an idle pooled connection failed its check") from exc


def _sqlite_serialised_writes(engine: AsyncEngine, reading: ContextVar[bool]) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # Readers would otherwise queue on the write lock (and sleep in the busy handler).
        conn.exec_driver_sql("BEGIN" if reading.get() else "BEGIN IMMEDIATE")
