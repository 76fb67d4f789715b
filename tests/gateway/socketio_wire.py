"""A minimal Socket.IO client over a WebSocket (Engine.IO 4, Socket.IO 5), speaking what a page's
socket.io-client speaks: enough to connect with an ``auth`` payload and read pushed events.

(python-socketio's own client needs aiohttp, which the project does not depend on.)
"""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


class Refused(Exception):
    """The server refused the Socket.IO connection (``connect_error``) or the handshake."""


class Socket:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, base_url: str, auth: Any = None, *, origin: str | None = None, wait: float = 5
    ) -> Socket:
        url = base_url.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
        try:
            ws = await asyncio.wait_for(connect(url, origin=origin, open_timeout=wait), wait)  # type: ignore[arg-type]
        except Exception as exc:  # the handshake was refused (a foreign origin)
            raise Refused(f"handshake: {exc!r}") from exc
        socket = cls(ws)
        try:
            opening = await asyncio.wait_for(ws.recv(), wait)
            assert isinstance(opening, str) and opening.startswith("0"), opening
            await ws.send("40" + ("" if auth is None else json.dumps(auth)))
            while True:
                frame = await asyncio.wait_for(ws.recv(), wait)
                assert isinstance(frame, str)
                if frame == "2":
                    await ws.send("3")
                elif frame.startswith("40"):
                    break
                elif frame.startswith("44"):
                    raise Refused(json.loads(frame[2:]).get("message", ""))
                else:
                    raise AssertionError(f"unexpected frame {frame!r}")
        except BaseException:
            await ws.close()
            raise
        socket._reader = asyncio.create_task(socket._read())
        return socket

    async def _read(self) -> None:
        with suppress(ConnectionClosed):
            async for frame in self.ws:
                if frame == "2":
                    await self.ws.send("3")
                elif isinstance(frame, str) and frame.startswith("42"):
                    name, *data = json.loads(frame[2:])
                    await self.events.put((name, data[0] if data else None))

    async def next(self, name: str, wait: float = 4) -> Any:
        """The next event called ``name`` (others before it are dropped)."""
        async with asyncio.timeout(wait):
            while True:
                event, data = await self.events.get()
                if event == name:
                    return data

    def pending(self) -> list[tuple[str, Any]]:
        """Events received and not read yet."""
        seen = []
        while not self.events.empty():
            seen.append(self.events.get_nowait())
        return seen

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with suppress(BaseException):
                await self._reader
        await self.ws.close()
