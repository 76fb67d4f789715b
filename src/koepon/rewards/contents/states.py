"""A content's life: processing → ready → retired (pure: no I/O).

``processing``: the row exists while the original is checked and its previews are made (a direct
upload waits here until it is completed); ``ready``: checked, previews stored, usable in gachas;
``retired``: no longer offered (fans keep what they own). A refused upload leaves no row at all.
"""

from __future__ import annotations

from enum import StrEnum


class ContentStatus(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    RETIRED = "retired"


MOVES: dict[ContentStatus, frozenset[ContentStatus]] = {
    ContentStatus.PROCESSING: frozenset({ContentStatus.READY}),
    ContentStatus.READY: frozenset({ContentStatus.RETIRED}),
    ContentStatus.RETIRED: frozenset(),
}


def may_move(current: str, target: ContentStatus) -> bool:
    """Whether ``current`` may become ``target`` (staying put is not a move)."""
    return target in MOVES.get(ContentStatus(current), frozenset())
