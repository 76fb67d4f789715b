"""The public directory of VTubers: approved ones only (never pending, rejected or suspended),
newest application first or by display name, in keyset pages.

A page cursor names the order it was handed out for, so a cursor of one order used with the
other is refused (422 ``invalid_cursor``) rather than silently skipping VTubers.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.clock import as_utc
from koepon.kernel.pagination import InvalidCursor
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.gachas.service import GachaCopies
from koepon.vtuber.teams import repository
from koepon.vtuber.teams.schemas import DirectoryEntry, DirectoryPage

Order = Literal["newest", "name"]
# The directory shows the bio's beginning; the whole bio is on the VTuber's own page.
BIO_EXCERPT_CHARS = 160
Position = tuple[datetime | str, str]
# A by-name cursor holds a display name (up to 64 characters, 4 UTF-8 bytes each at worst).
MAX_CURSOR_CHARS = 512


def excerpt(bio: str, limit: int = BIO_EXCERPT_CHARS) -> str:
    """``bio`` cut to at most ``limit`` characters, an ellipsis marking the cut."""
    text = bio.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def encode_cursor(order: Order, value: datetime | str, key: str) -> str:
    """An opaque cursor after (``value``, ``key``) of the ``order`` ordering."""
    shown = value.isoformat() if isinstance(value, datetime) else value
    raw = json.dumps([order, shown, key], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: Order) -> Position:
    """The position ``encode_cursor`` made for ``order``; ``InvalidCursor`` for anything else
    (tampered, truncated, or handed out for the other order)."""
    refused = InvalidCursor("The cursor is not one this list handed out", parameter="cursor")
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise refused
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise refused from exc
    if not isinstance(decoded, list) or len(decoded) != 3:
        raise refused
    was, value, key = decoded
    if was != order or not isinstance(value, str) or not isinstance(key, str):
        raise refused
    if not key or len(key) > 64 or len(value) > 200:
        raise refused
    if order == "name":
        return value, key
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise refused from exc
    if moment.tzinfo is None:
        raise refused
    return moment, key


class Directory:
    def __init__(self, ctx: VtuberContext, gachas: GachaCopies) -> None:
        self.ctx = ctx
        self.gachas = gachas

    async def page(
        self, session: AsyncSession, *, order: Order, cursor: str | None, limit: int
    ) -> DirectoryPage:
        after = decode_cursor(cursor, order) if cursor else None
        by_name = order == "name"
        rows = await repository.directory(session, by_name=by_name, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        # The gachas sub-domain counts the live ones of the whole page in one query.
        counts = await self.gachas.live_counts(session, [row.id for row in rows], self.ctx.now())
        next_cursor = None
        if more:
            last = rows[-1]
            value = last.display_name if by_name else as_utc(last.applied_at)
            next_cursor = encode_cursor(order, value, last.id)
        return DirectoryPage(
            items=[
                DirectoryEntry(
                    id=row.id,
                    display_name=row.display_name,
                    avatar_url=row.avatar_url,
                    bio=excerpt(row.bio),
                    channel_links=list(row.channel_links),
                    live_gachas=counts[row.id],
                )
                for row in rows
            ],
            next_cursor=next_cursor,
        )
