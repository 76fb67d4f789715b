"""Page cursors of list endpoints (``?cursor=&limit=``): parsed strictly, refused as a 422
problem naming the cursor, never a 500 (a cursor is client input like any other)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from fastapi import Query

from koepon.kernel.errors import DomainError

# Sequence cursors are database keys: 64-bit signed integers on both backends.
MAX_SEQUENCE = 2**63 - 1
MAX_CURSOR_CHARS = 200


class InvalidCursor(DomainError):
    status = 422
    code = "invalid_cursor"


# A cursor that is a row's sequence number (e.g. wallet transactions): a whole number that fits
# the database's key, else FastAPI's validation answers 422 before anything runs.
SequenceCursor = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_SEQUENCE,
        description="The next_cursor of the previous page",
        json_schema_extra={"example": 1234},
    ),
]
# An opaque keyset cursor (e.g. receipts): decoded by ``decode_keyset``.
KeysetCursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_CHARS, description="The next_cursor of the previous page"),
]


def encode_keyset(moment: datetime, key: str) -> str:
    """An opaque cursor for keyset pagination ordered by (``moment``, ``key``)."""
    if moment.tzinfo is None:
        raise ValueError("keyset cursors hold aware instants")
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{key}".encode()).decode()


def decode_keyset(cursor: str) -> tuple[datetime, str]:
    """(moment, key) of a cursor ``encode_keyset`` made; ``InvalidCursor`` for anything else."""
    refused = InvalidCursor("The cursor is not one this API handed out", parameter="cursor")
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
        moment_text, separator, key = raw.partition("|")
        moment = datetime.fromisoformat(moment_text)
    except (ValueError, UnicodeError, binascii.Error, OverflowError) as exc:
        raise refused from exc
    if not separator or not key or len(key) > 64 or moment.tzinfo is None:
        raise refused
    return moment, key
