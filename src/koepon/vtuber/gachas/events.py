"""The catalogue event this sub-domain consumes, checked against what its tables can hold.

A payload that breaks the contract can never succeed, so consumers of the VTuber service reject
it (logged with where and what, never the values) instead of retrying it forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from koepon.contracts.gacha import GachaCatalogChanged
from koepon.contracts.vtuber import RevenueShare
from koepon.kernel.bus import Message
from koepon.kernel.clock import as_utc
from koepon.vtuber.gachas.shares import SharesInvalid, check_vtuber_id, parties

MAX_ID_CHARS = 64  # draw, gacha and user ids are stored in 64-character columns
MAX_TITLE_CHARS = 200
MAX_INT = 2_147_483_647  # integer columns are 32-bit on PostgreSQL


class Malformed(Exception):
    """The event's payload breaks its contract (never retried)."""


def describe(exc: Exception) -> str:
    """Why an event was rejected: where and what, never the payload's values."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)[:20]
        )[:1000]
    return str(exc)[:1000]


def check_id(name: str, value: str) -> str:
    if not value or len(value) > MAX_ID_CHARS or "\x00" in value:
        raise Malformed(f"{name}: an id of 1 to {MAX_ID_CHARS} characters without NUL is required")
    return value


def check_amount(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= MAX_INT:
        raise Malformed(f"{name}: an integer from 0 to {MAX_INT} is required")


@dataclass(frozen=True)
class CatalogCopy:
    """What the VTuber service keeps of one catalogue event."""

    gacha_id: str
    vtuber_id: str
    revision: int
    title: str
    kind: str
    status: str
    price_medals: int
    starts_at: datetime | None
    ends_at: datetime | None
    box_stock: int | None
    changed_at: datetime
    parties: tuple[RevenueShare, ...]


def catalog_copy(message: Message) -> CatalogCopy:
    """The copy to keep from a ``gacha.catalog.changed.v1`` message; raises ``Malformed`` or
    ``ValidationError``."""
    if message.topic != GachaCatalogChanged.topic:
        raise Malformed(f"topic {message.topic!r} is not one this consumer reads")
    event = GachaCatalogChanged.model_validate(message.payload)
    check_id("gacha_id", event.gacha_id)
    check_amount("revision", event.revision)
    check_amount("price_medals", event.price_medals)
    check_amount("box_stock", event.box_stock)
    try:
        lead = check_vtuber_id(event.vtuber_id)
        earning = parties(lead, event.shares)
    except SharesInvalid as exc:
        raise Malformed(str(exc)) from exc
    return CatalogCopy(
        gacha_id=event.gacha_id,
        vtuber_id=lead,
        revision=event.revision,
        # A title is shown only: cut to what the column holds rather than lose the change.
        title=event.title.replace("\x00", "")[:MAX_TITLE_CHARS],
        kind=event.kind,
        status=event.status,
        price_medals=event.price_medals,
        starts_at=as_utc(event.starts_at) if event.starts_at else None,
        ends_at=as_utc(event.ends_at) if event.ends_at else None,
        box_stock=event.box_stock,
        changed_at=as_utc(event.changed_at),
        parties=earning,
    )
