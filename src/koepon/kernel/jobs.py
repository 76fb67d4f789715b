"""Pauses for background loops that end when the process asks them to.

A loop cancelled while a database driver is busy can lose the cancellation: SQLAlchemy may turn
a ``CancelledError`` raised under it into an ordinary error (``PendingRollbackError``), and
``asyncio.wait_for`` on Python 3.11 can return a result instead. A loop that logs errors and
goes on would then run for ever and hold the process's shutdown. The task still counts the
request (``Task.cancelling()``), so every pause between rounds looks at it and ends the loop.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress


def stop_requested() -> bool:
    """True once the current task was asked to stop, even if the cancellation got lost."""
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
    if wake is None:
        await asyncio.sleep(seconds)
    else:
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()
    end_if_stopping()
