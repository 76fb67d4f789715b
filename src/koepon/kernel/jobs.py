"""Pauses for background loops that end when the process asks them to.

A loop cancelled while a database driver is busy can lose the cancellation: SQLAlchemy may turn
a ``CancelledError`` raised under it into an ordinary error (``PendingRollbackError``), and
``asyncio.wait_for`` on Python 3.11 can return a result instead. A loop that logs errors and
goes on would then run for ever and hold the process's shutdown. The task still counts the
request (``Task.cancelling()``), so every pause between rounds looks at it and ends the loop.

A process stopping first *asks* its loops to end (``Shutdown``): a loop in a pause ends at once,
a loop in the middle of a round finishes it and ends at its next pause, so no transaction is cut
in the middle by a cancellation (one cut while SQLAlchemy hands its connection back leaves the
connection half reset; with SQLite its worker thread then outlives the event loop). Only a loop
still busy after the process's grace period is cancelled.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from contextlib import suppress
from typing import Any, TypeVar

T = TypeVar("T")


class Shutdown:
    """A process's request to its loops to end (see the module's note)."""

    def __init__(self) -> None:
        self.requested = False
        self._pausing: set[asyncio.Event] = set()

    def request(self) -> None:
        self.requested = True
        for event in list(self._pausing):
            event.set()


_SHUTDOWN: contextvars.ContextVar[Shutdown | None] = contextvars.ContextVar(
    "koepon_shutdown", default=None
)


def spawn(coro: Coroutine[Any, Any, T], shutdown: Shutdown) -> asyncio.Task[T]:
    """Run ``coro`` as a task whose pauses end when ``shutdown`` is requested."""
    context = contextvars.copy_context()
    context.run(_SHUTDOWN.set, shutdown)
    return asyncio.create_task(coro, context=context)


def stop_requested() -> bool:
    """True once the current task was asked to stop (its process is shutting down, or it was
    cancelled, even if the cancellation got lost)."""
    shutdown = _SHUTDOWN.get()
    if shutdown is not None and shutdown.requested:
        return True
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def end_if_stopping() -> None:
    """Raise ``CancelledError`` if the current task was asked to stop."""
    if stop_requested():
        raise asyncio.CancelledError


async def pause(seconds: float, wake: asyncio.Event | None = None) -> None:
    """Wait ``seconds`` (or until ``wake`` is set); raise ``CancelledError`` if this task was
    asked to stop, before or during the wait. Not ``wait_for``: see the module's note."""
    end_if_stopping()
    shutdown = _SHUTDOWN.get()
    if wake is None and shutdown is None:
        await asyncio.sleep(seconds)
    else:
        event = wake if wake is not None else asyncio.Event()
        if shutdown is not None:
            shutdown._pausing.add(event)  # woken when the process asks its loops to end
        try:
            with suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await event.wait()
        finally:
            if shutdown is not None:
                shutdown._pausing.discard(event)
    end_if_stopping()
