"""Tickets that let a page's Socket.IO connection join its rooms (the page gets one, the socket
shows it), and the names of those rooms, shared by the pages and the gateway."""

from __future__ import annotations

import json
import re
import secrets

from koepon.kernel.cache import Cache

PREFIX = "realtime:ticket:"
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
TICKET_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_ROOMS = 16
MAX_ROOM_LENGTH = 128


def user_room(user_id: str) -> str:
    """A fan's own results (演出)."""
    return f"user:{user_id}"


def overlay_room(vtuber_id: str) -> str:
    """A VTuber's stream overlay: pulls of fans who opted in."""
    return f"overlay:{vtuber_id}"


def gacha_room(gacha_id: str) -> str:
    """Anyone watching one gacha's page: its stock changed."""
    return f"gacha:{gacha_id}"


async def issue_ticket(cache: Cache, rooms: list[str], ttl_seconds: int = 3600) -> str:
    """A new ticket for ``rooms``, valid for ``ttl_seconds`` (reconnects reuse it meanwhile)."""
    if not rooms or len(rooms) > MAX_ROOMS:
        raise ValueError(f"a ticket names 1 to {MAX_ROOMS} rooms")
    if any(not isinstance(r, str) or not r or len(r) > MAX_ROOM_LENGTH for r in rooms):
        raise ValueError(f"a room name is a string of 1 to {MAX_ROOM_LENGTH} characters")
    if ttl_seconds <= 0:
        raise ValueError("a ticket lives a positive number of seconds")
    ticket = secrets.token_urlsafe(32)
    await cache.set(PREFIX + ticket, json.dumps(rooms).encode(), ttl_seconds)
    return ticket


async def redeem_ticket(cache: Cache, ticket: str) -> list[str] | None:
    """The rooms of a live ticket; None for a malformed, unknown or expired one.

    Not one-time: a socket that reconnects shows the same ticket again within its lifetime.
    The format is checked first so hostile input never reaches the cache as a key."""
    if not isinstance(ticket, str) or not TICKET_PATTERN.fullmatch(ticket):
        return None
    raw = await cache.get(PREFIX + ticket)
    if raw is None:
        return None
    try:
        rooms = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(rooms, list) or not all(isinstance(r, str) and r for r in rooms):
        return None
    return rooms
