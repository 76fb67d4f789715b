"""How many draw requests a process accepts at once (the rest wait their turn, first come first
served) and whether it is pressed for time.

Under a spike every request used to go straight for a database connection: hundreds of them
then shared the event loop and the pool, each transaction held its connection for many turns
of a crowded loop, and requests beyond the pool's wait answered 503 although the machine was
not short of work it could do. Waiting here costs nothing (no connection, no loop turns), and
while a backlog waits the process leaves the sagas to the queue's workers: answering the fans
comes first, drawing follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from koepon.kernel.errors import Unavailable


class AcceptGate:
    def __init__(self, concurrency: int, *, wait_seconds: float) -> None:
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self.wait_seconds = wait_seconds
        self.waiting = 0

    @property
    def pressed(self) -> bool:
        """More requests wait for their turn than are let in at once (a backlog, not a
        moment's queue): run no saga on the request's own path."""
        return self.waiting > self.concurrency

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the process's accept slots; 503 (nothing stored) if none frees up
        within ``wait_seconds``."""
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise Unavailable(
                "Too many draws are arriving at once; nothing was taken. Try again in a moment",
                retry_after=2,
            ) from None
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._slots.release()
