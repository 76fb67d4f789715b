"""Copies of the session's template databases made ahead, while tests run.

``CREATE DATABASE … TEMPLATE`` takes most of a second on this machine, nearly all of it the
server writing and syncing files while the test process waits. The stock makes the next copies
of a template in a background thread while the current test runs, and drops a finished test's
database the same way, so a distributed test only waits when it outpaces the copying.

All CREATE and DROP DATABASE statements of the session's templates go through the stock's single
thread, one at a time: PostgreSQL refuses to copy a template that another session is using, and
dropping a template while one of its copies is being made would fail that copy.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import asyncpg

T = TypeVar("T")
# Copies kept ready (or being made) of each template asked for.
AHEAD = 2


class DatabaseStock:
    def __init__(self, admin_dsn: str, prefix: str = "koepon_t_") -> None:
        self.admin_dsn = admin_dsn
        self.prefix = prefix
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="database-stock")
        self._ready: dict[str, deque[Future[str]]] = {}
        self._closed = False

    # --- what the fixtures call ---

    def create(self, name: str, template: str | None = None) -> None:
        """Create ``name`` (from ``template``) now, in turn with the copies being made."""
        self._submit(lambda: self._create(name, template)).result()

    def drop(self, name: str) -> None:
        """Drop ``name`` now, in turn with the copies being made."""
        self._submit(lambda: self._drop(name)).result()

    def take(self, template: str) -> str:
        """A fresh copy of ``template`` (made ahead when the stock kept up); the next copies
        start at once."""
        waiting = self._ready.setdefault(template, deque())
        if not waiting:
            waiting.append(self._copy(template))
        copy = waiting.popleft()
        while len(waiting) < AHEAD:
            waiting.append(self._copy(template))
        return copy.result()

    def give_back(self, name: str) -> None:
        """The test is done with ``name``: dropped in the background."""
        self._submit(lambda: self._drop(name))

    def close(self) -> None:
        """Stop making copies, drop those made and not taken, and wait for every drop."""
        if self._closed:
            return
        self._closed = True
        unused = [future for waiting in self._ready.values() for future in waiting]
        self._ready.clear()
        for future in unused:
            if not future.cancel():
                try:
                    name = future.result()
                except Exception:
                    continue
                self._thread.submit(self._run, lambda n=name: self._drop(n))  # type: ignore[misc]
        self._thread.shutdown(wait=True)

    # --- the thread's work ---

    def _copy(self, template: str) -> Future[str]:
        name = f"{self.prefix}{uuid.uuid4().hex[:12]}"

        async def make() -> str:
            await self._create(name, template)
            return name

        return self._submit(make)

    def _submit(self, job: Callable[[], Awaitable[T]]) -> Future[T]:
        if self._closed:
            raise RuntimeError("the database stock is closed")
        return self._thread.submit(self._run, job)

    @staticmethod
    def _run(job: Callable[[], Awaitable[T]]) -> T:
        return asyncio.run(job())  # type: ignore[arg-type]

    async def _create(self, name: str, template: str | None) -> None:
        # FILE_COPY copies the template's files instead of writing every block of them to the
        # WAL (PostgreSQL 15's default, WAL_LOG): on this machine half the server's time for a
        # copy of the ~10 MB migrated template, and less than half of it for the drop after.
        clause = f' STRATEGY FILE_COPY TEMPLATE "{template}"' if template else ""
        await self._execute(f'CREATE DATABASE "{name}"{clause}')

    async def _drop(self, name: str) -> None:
        await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
