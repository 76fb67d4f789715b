"""Real-time pushes at the edge (Socket.IO): a fan's draw result, a gacha's stock, a VTuber's
stream overlay. Fed by the ``gateway.realtime`` consumer of ``gacha.draw.completed.v1``.

Pages connect at ``/socket.io/`` with ``auth = {ticket?, watch?}``: a ticket (issued by the pages,
``kernel.realtime_tickets``) joins its private rooms, ``watch`` joins public gacha rooms. With
Redis configured the server fans emits out through Redis, so a pull consumed by one gateway
process reaches sockets held by every other.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import socketio
import structlog
from pydantic import ValidationError
from starlette.applications import Starlette

from koepon.contracts.auth import AuthAccounts
from koepon.contracts.gacha import DrawCompleted
from koepon.kernel import jobs
from koepon.kernel.bus import Message
from koepon.kernel.bus.inprocess import InProcessBus
from koepon.kernel.bus.rabbitmq import RabbitMQBus
from koepon.kernel.cache import Cache
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.realtime_tickets import (
    ID_PATTERN,
    gacha_room,
    overlay_room,
    redeem_ticket,
    user_room,
)
from koepon.kernel.runtime import Consumer
from koepon.kernel.settings import Settings

log = structlog.get_logger(__name__)

CONSUMER = "gateway.realtime"
PATH = "/socket.io"
MAX_WATCHED = 5
AUTH_KEYS = frozenset({"ticket", "watch"})
# WebSocket upgrades bypass the gateway's HTTP admission, so connections are metered here, with
# the gateway's per-address limit: a flood from one address is refused before any ticket lookup.
# The order of rarities (contracts.gacha.Rarity); SSR and above get the overlay's big reveal.
RARITY_ORDER = ("N", "R", "SR", "SSR", "UR")
BIG_RARITIES = frozenset({"SSR", "UR"})
LOOKUP_SECONDS = 3.0
RETRY_SECONDS = 5.0
# Socket.IO frames from pages are tiny (the auth payload); anything larger is hostile.
MAX_FRAME_BYTES = 4096
WATCH_PATTERN = ID_PATTERN


class Refused(socketio.exceptions.ConnectionRefusedError):  # type: ignore[misc]
    """The connection is refused; the page's ``connect_error`` gets ``{message}``."""


class Realtime:
    """The Socket.IO server of one process (every app of the process mounts the same one)."""

    def __init__(self, settings: Settings, cache: Cache, accounts: AuthAccounts | None) -> None:
        self.cache = cache
        self.accounts = accounts
        self.rate_limiter = RateLimiter.from_settings(settings)
        self.connects_per_address = settings.rate_limit_per_ip
        manager = (
            socketio.AsyncRedisManager(settings.redis_url, channel=channel(settings))
            if settings.redis_url
            else None
        )
        allowed = allowed_origins(settings)
        self.server = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager,
            cors_allowed_origins=lambda origin, environ: same_origin(origin, environ, allowed),
            cors_credentials=False,
            max_http_buffer_size=MAX_FRAME_BYTES,
            logger=False,
            engineio_logger=False,
        )
        self.server.on("connect", self._connect)
        self.consumer = Consumer(CONSUMER, [DrawCompleted.topic], self.on_message)
        # Set once the consumer takes messages (the platform starts it; tests wait on it).
        self.consuming = asyncio.Event()

    def asgi(self) -> Any:
        """The ASGI app to mount at ``/socket.io`` (it takes every path under the mount)."""
        return socketio.ASGIApp(self.server, socketio_path=None)

    async def consume(self, bus: InProcessBus | RabbitMQBus, stop: asyncio.Event) -> None:
        """Take pushes from ``bus`` from now on; while the broker is down, retry until ``stop``
        (pushes are extras: the gateway serves without them)."""
        bus.subscribe(self.consumer.name, self.consumer.topics, self.consumer.handler)
        while isinstance(bus, RabbitMQBus) and not stop.is_set():
            try:
                await bus.start_consuming()
                break
            except Exception as exc:
                log.warning("realtime.consumer_not_started", error=repr(exc))
                await jobs.pause(RETRY_SECONDS, stop)
        self.consuming.set()

    async def feed(self, settings: Settings, stop: asyncio.Event) -> None:
        """The gateway process on its own (no platform): its own broker connection, consuming
        until ``stop``. Without a broker there is nothing to push (logged once)."""
        if not settings.amqp_url:
            log.warning("realtime.no_broker")
            return
        bus = RabbitMQBus(settings.amqp_url, exchange=settings.amqp_exchange)
        self.start()
        try:
            await self.consume(bus, stop)
            await stop.wait()
        finally:
            with suppress(Exception):
                await bus.close()
            await self.close()

    def start(self) -> None:
        """Listen to the other gateway processes' emits (Redis) from now on."""
        if not self.server.manager_initialized:
            self.server.manager_initialized = True
            self.server.manager.initialize()

    async def close(self) -> None:
        """Stop listening to Redis; a later :meth:`start` listens again."""
        self.consuming.clear()
        manager = self.server.manager
        listener = getattr(manager, "thread", None)
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            with suppress(BaseException):
                await asyncio.wait_for(listener, 2)
        redis = getattr(manager, "redis", None)
        if redis is not None:
            with suppress(Exception):
                await redis.aclose()
            manager.connected = False
        self.server.manager_initialized = False
        engine = self.server.eio
        if engine.service_task_handle is not None:  # its watch over idle clients
            with suppress(BaseException):
                await asyncio.wait_for(self.server.shutdown(), 2)
            engine.start_service_task = True

    # -- connections ----------------------------------------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await self.admit(environ)
        rooms = await self.rooms_for(auth)
        for room in rooms:
            await self.server.enter_room(sid, room)

    async def admit(self, environ: dict[str, Any]) -> None:
        """Meter connections per address; :class:`Refused` over the limit."""
        client = (environ.get("asgi.scope") or {}).get("client") or ("unknown", 0)
        try:
            allowed, _retry = await self.rate_limiter.hit(
                self.connects_per_address, "socket-ip", str(client[0])
            )
        except Exception as exc:  # the limiter's store is down: fail closed, the page polls
            log.warning("realtime.rate_limit_unavailable", error=repr(exc))
            raise Refused("connections cannot be admitted right now; try again") from exc
        if not allowed:
            raise Refused("too many connections from this address; try again in a minute")

    async def rooms_for(self, auth: Any) -> list[str]:
        """The rooms a connection's ``auth`` payload opens; :class:`Refused` if malformed."""
        if auth is None:
            auth = {}
        if not isinstance(auth, dict) or set(auth) - AUTH_KEYS:
            raise Refused("auth must be an object with only 'ticket' and 'watch'")
        rooms: list[str] = []
        ticket = auth.get("ticket")
        if ticket is not None:
            try:
                granted = await redeem_ticket(self.cache, ticket)
            except Exception as exc:  # the cache is down: the page retries later
                log.warning("realtime.ticket_check_failed", error=repr(exc))
                raise Refused("tickets cannot be checked right now; try again") from exc
            if granted is None:
                raise Refused("the ticket is unknown or expired; reload the page")
            rooms += granted
        watch = auth.get("watch")
        if watch is not None:
            if not isinstance(watch, list) or len(watch) > MAX_WATCHED:
                raise Refused(f"watch must be a list of at most {MAX_WATCHED} gacha ids")
            for gacha_id in watch:
                if not isinstance(gacha_id, str) or not WATCH_PATTERN.fullmatch(gacha_id):
                    raise Refused("watch holds gacha ids (letters, digits, '-' and '_')")
                rooms.append(gacha_room(gacha_id))
        if not rooms:
            raise Refused("nothing to follow: give a ticket or gacha ids to watch")
        return list(dict.fromkeys(rooms))

    # -- events ---------------------------------------------------------------------------

    async def on_message(self, message: Message) -> None:
        """Push a completed draw. A notification is best effort: nothing here raises, so the
        queue never retries it (a redelivered event may show twice, which is harmless)."""
        try:
            event = DrawCompleted.model_validate(message.payload)
        except ValidationError as exc:
            log.error("realtime.undecodable", message_id=message.id, error=repr(exc))
            return
        await self._emit("draw.completed", result(event), user_room(event.user_id))
        await self._emit("stock.changed", {"gacha_id": event.gacha_id}, gacha_room(event.gacha_id))
        if event.on_stream:
            await self._show_on_stream(event)

    async def _show_on_stream(self, event: DrawCompleted) -> None:
        name = await self._display_name(event)
        if name is None:
            return
        rooms = [overlay_room(v) for v in dict.fromkeys(stream_vtubers(event))]
        await self._emit("pull", pull(event, name), rooms)

    async def _display_name(self, event: DrawCompleted) -> str | None:
        if self.accounts is None:
            log.warning("realtime.no_auth_client", draw_id=event.draw_id)
            return None
        try:
            async with asyncio.timeout(LOOKUP_SECONDS):
                return await self.accounts.display_name(event.user_id)
        except Exception as exc:  # auth is down: the overlay misses this pull, nothing else
            log.warning("realtime.display_name_unavailable", draw_id=event.draw_id, error=repr(exc))
            return None

    async def _emit(self, name: str, data: dict[str, Any], to: str | list[str]) -> None:
        try:
            await self.server.emit(name, data, to=to)
        except Exception as exc:
            log.warning("realtime.emit_failed", event=name, error=repr(exc))


def result(event: DrawCompleted) -> dict[str, Any]:
    """``draw.completed`` for the fan's own pages: what the 演出 reveals."""
    return {
        "draw_id": event.draw_id,
        "gacha_id": event.gacha_id,
        "vtuber_id": event.vtuber_id,
        "count": event.count,
        "items": [
            {
                "slot": item.slot,
                "item_id": item.item_id,
                "content_id": item.content_id,
                "rarity": item.rarity,
                "limited": item.limited,
                "copies": item.copies,
            }
            for item in event.items
        ],
    }


def pull(event: DrawCompleted, display_name: str) -> dict[str, Any]:
    """``pull`` for a stream overlay: the fan's display name only (no user id, no email)."""
    rarities = [item.rarity for item in sorted(event.items, key=lambda i: i.slot)]
    best = max(rarities, key=RARITY_ORDER.index) if rarities else None
    return {
        "display_name": display_name,
        "gacha_id": event.gacha_id,
        "draw_id": event.draw_id,
        "rarities": rarities,
        "best_rarity": best,
        "big": best in BIG_RARITIES,
    }


def stream_vtubers(event: DrawCompleted) -> list[str]:
    """The gacha's VTuber and, for a collab, every VTuber sharing it."""
    return [event.vtuber_id, *(share.vtuber_id for share in event.shares)]


def channel(settings: Settings) -> str:
    """The Redis channel of this deployment's gateways (named after its event exchange, so
    deployments, and test runs, sharing a Redis server never see each other's pushes)."""
    return f"{settings.amqp_exchange}.socketio"


def allowed_origins(settings: Settings) -> frozenset[str]:
    origins = {_origin(settings.public_url), *(_origin(o) for o in settings.cors_origins)}
    return frozenset(o for o in origins if o)


def same_origin(origin: str | None, environ: dict[str, Any], allowed: frozenset[str]) -> bool:
    """Pages of the platform's own origin only. A socket from elsewhere is refused even with a
    ticket: it is a bearer secret, but a foreign page has no business holding one."""
    if not origin:
        return True  # not a browser (a browser always sends Origin on these requests)
    if _origin(origin) in allowed:
        return True
    host = environ.get("HTTP_HOST", "")
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def install_realtime(app: Starlette, realtime: Realtime) -> None:
    """Serve ``realtime``'s Socket.IO endpoint at ``/socket.io/`` on ``app``."""
    app.mount(PATH, realtime.asgi())


__all__ = ["CONSUMER", "Realtime", "install_realtime"]
