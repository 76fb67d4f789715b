"""A short-lived edge cache for public GETs that answer every anonymous caller the same."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from koepon.gateway.routing import under, under_any
from koepon.kernel.cache import Cache

log = structlog.get_logger(__name__)

DEFAULT_TTL_SECONDS = 10
MAX_CACHED_BYTES = 256 * 1024
# Per-request or per-hop headers are regenerated on every answer, never replayed from the cache.
UNCACHED_HEADERS = frozenset(
    {
        b"set-cookie",
        b"x-request-id",
        b"date",
        b"server",
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"x-cache",
    }
)


GENERATION_TTL_SECONDS = 7 * 24 * 3600
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cache_key(scope: Scope, generation: bytes) -> str:
    target = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
    digest = hashlib.sha256(target.encode()).hexdigest()
    return f"gateway:response:{generation.decode()}:{digest}"


def generation_key(prefix: str) -> str:
    return "gateway:response-generation:" + prefix


def _storable(status: int, headers: Headers) -> bool:
    if not 200 <= status < 300 or "set-cookie" in headers or "vary" in headers:
        return False
    control = headers.get("cache-control", "").lower()
    return "no-store" not in control and "private" not in control


def _encode(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    head = {
        "status": status,
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers],
    }
    return json.dumps(head).encode() + b"\n" + body


@lru_cache(maxsize=64)
def _decode_head(head: bytes) -> tuple[int, tuple[tuple[bytes, bytes], ...]]:
    # Cached: a hot entry is served thousands of times with the same head.
    data = json.loads(head)
    headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in data["headers"])
    return int(data["status"]), headers


def _decode(blob: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    head, _, body = blob.partition(b"\n")
    status, headers = _decode_head(head)
    return status, list(headers), body


class ResponseCacheMiddleware:
    """Serves anonymous GETs below the ``cacheable`` prefixes from ``cache`` for a few seconds.

    Requests carrying credentials always go to the service; answers that are not 2xx, set
    cookies, vary, or say ``private``/``no-store`` are never stored. ``X-Cache`` tells which.
    Each prefix has a generation in the cache (part of every key): a successful write below one
    of the prefixes that change it moves the generation on, which drops its cached answers in
    every gateway process sharing the cache.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        cache: Cache,
        cacheable: Mapping[str, tuple[str, ...]],
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self.app = app
        self.cache = cache
        self.cacheable = dict(cacheable)
        self.ttl_seconds = ttl_seconds

    def _cached_prefix(self, scope: Scope) -> str | None:
        if scope["method"] != "GET":
            return None
        headers = Headers(scope=scope)
        if "authorization" in headers or "cookie" in headers:
            return None
        for prefix in self.cacheable:
            if under(scope["path"], prefix):
                return prefix
        return None

    def _changed_prefixes(self, scope: Scope) -> list[str]:
        if scope["method"] in READ_METHODS:
            return []
        return [
            prefix
            for prefix, writers in self.cacheable.items()
            if under_any(scope["path"], writers)
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        changed = self._changed_prefixes(scope)
        if changed:
            await self._invalidating(scope, receive, send, changed)
            return
        prefix = self._cached_prefix(scope)
        if prefix is None:
            await self.app(scope, receive, send)
            return
        try:
            generation = await self.cache.get(generation_key(prefix)) or b"0"
            key = cache_key(scope, generation)
            blob = await self.cache.get(key)
        except Exception as exc:
            log.warning("gateway.cache_unavailable", error=repr(exc))
            await self.app(scope, receive, send)
            return
        if blob is not None:
            status, headers, body = _decode(blob)
            headers += [
                (b"content-length", str(len(body)).encode()),
                (b"x-cache", b"HIT"),
            ]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self._filling(scope, receive, send, key)

    async def _invalidating(
        self, scope: Scope, receive: Receive, send: Send, prefixes: list[str]
    ) -> None:
        async def send_after_invalidating(message: Message) -> None:
            # Before the writer hears of its success, so its next read cannot be stale.
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                for prefix in prefixes:
                    try:
                        await self.cache.incr(generation_key(prefix), GENERATION_TTL_SECONDS)
                    except Exception as exc:
                        log.warning("gateway.cache_unavailable", error=repr(exc))
            await send(message)

        await self.app(scope, receive, send_after_invalidating)

    async def _filling(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        status = 0
        kept: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        size = 0
        storable = False

        async def capturing_send(message: Message) -> None:
            nonlocal status, storable, size
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = list(message.get("headers", []))
                storable = _storable(status, Headers(raw=raw))
                kept.extend((k, v) for k, v in raw if k.lower() not in UNCACHED_HEADERS)
                message["headers"] = [*raw, (b"x-cache", b"MISS")]
            elif message["type"] == "http.response.body" and storable:
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_CACHED_BYTES:
                    storable = False
                    chunks.clear()
                else:
                    chunks.append(chunk)
                if storable and not message.get("more_body", False):
                    await self._store(key, status, kept, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capturing_send)

    async def _store(
        self, key: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        try:
            await self.cache.set(key, _encode(status, headers, body), self.ttl_seconds)
        except Exception as exc:
            log.warning("gateway.cache_unavailable", error=repr(exc))
