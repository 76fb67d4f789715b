"""The ``Idempotency-Key`` header: its checks, the FastAPI dependency every route taking it uses,
and the request fingerprint a key is bound to. ``kernel/idempotency.py`` keeps the keys.

Every service answers the same way:

=====================================================  ======  ============================
situation                                               status  ``code``
=====================================================  ======  ============================
header missing where the route requires it              400     ``idempotency_key_required``
header malformed (not 1–N printable ASCII characters,   400     ``idempotency_key_invalid``
or spaces at either end)
same key, different request (method, path, body)        422     ``idempotency_key_reused``
same key while the first request is still running       409     ``idempotency_in_flight``
                                                                (with ``Retry-After``)
same key, same request, already answered                —       the stored response again,
                                                                ``Idempotent-Replayed: true``
=====================================================  ======  ============================
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Header, Request

from koepon.kernel.problems import Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def valid_key(key: str, max_length: int = MAX_KEY_LENGTH) -> bool:
    """1–``max_length`` printable ASCII characters (no spaces at the ends, no control
    characters)."""
    return (
        0 < len(key) <= max_length
        and all(0x20 <= ord(ch) < 0x7F for ch in key)
        and key == key.strip()
    )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of method, path and the canonical form of the JSON body (raw bytes if not JSON),
    so that key order and whitespace do not make two equal requests differ."""
    try:
        canonical = canonical_json(json.loads(body)) if body.strip() else ""
    except (ValueError, UnicodeDecodeError):
        canonical = body.hex()
    digest = hashlib.sha256()
    for part in (method.upper(), path, canonical):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def checked_key(key: str | None, *, required: bool, max_length: int = MAX_KEY_LENGTH) -> str | None:
    """``key`` if it is well formed; the documented 400 problems otherwise."""
    if key is None:
        if required:
            raise Problem(
                400,
                "idempotency_key_required",
                f"This request needs an {HEADER} header (1–{max_length} printable characters), "
                "so that retrying it can never do the work twice",
            )
        return None
    if not valid_key(key, max_length):
        raise Problem(
            400,
            "idempotency_key_invalid",
            f"{HEADER} must be 1–{max_length} printable ASCII characters without surrounding "
            "spaces",
        )
    return key


def idempotency_key(
    *, required: bool = True, max_length: int = MAX_KEY_LENGTH
) -> Callable[..., Awaitable[str | None]]:
    """The FastAPI dependency every route taking an ``Idempotency-Key`` uses::

        Key = Annotated[str, Depends(idempotency_key())]
        OptionalKey = Annotated[str | None, Depends(idempotency_key(required=False))]

    ``max_length`` is for routes that build a bounded id from the key (e.g. a transfer id).
    """

    # A default, not an ``Annotated`` hint: hints are strings here and could not see the
    # closure's ``max_length``.
    header = Header(
        None,
        alias=HEADER,
        description=f"1–{max_length} printable ASCII characters; a retry with the same key and "
        "request gets the first answer again instead of doing the work twice",
    )

    async def dependency(key: str | None = header) -> str | None:
        return checked_key(key, required=required, max_length=max_length)

    return dependency


async def request_fingerprint(request: Request) -> str:
    return fingerprint(request.method, request.url.path, await request.body())
