"""A small HTTP/1.1 client for the draw benchmark: keep-alive connections, a request of its own
each time (token, ``Idempotency-Key``, body), closed loop or on a fixed schedule (open loop,
latency measured from when each request was due, so queueing shows in p99).

Written on asyncio streams rather than httpx: at a thousand requests a second httpx's own
CPU would be a large share of a 2-core machine the servers also run on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TIMEOUT = 120.0


@dataclass
class Answer:
    status: int
    body: bytes
    due: float  # when the request was due (open loop) or sent (closed loop)
    done: float

    @property
    def ms(self) -> float:
        return (self.done - self.due) * 1000

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def encode(self, host: str) -> bytes:
        payload = b"" if self.body is None else json.dumps(self.body).encode()
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            return status, await self.reader.readexactly(int(headers["content-length"]))
        body = bytearray()  # chunked
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return status, bytes(body)
            body += chunk[:-2]


class Client:
    """``connections`` keep-alive connections to one server."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.host, self.port, self.size = host, port, connections
        self.idle: asyncio.Queue[Connection] = asyncio.Queue()
        self.opened = 0

    async def _open(self) -> Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=2**20)
        return Connection(reader, writer)

    async def _connection(self) -> tuple[Connection, bool]:
        """A connection and whether it is new (an idle one may have been closed meanwhile)."""
        if self.idle.empty() and self.opened < self.size:
            self.opened += 1
            try:
                return await self._open(), True
            except BaseException:
                self.opened -= 1
                raise
        return await self.idle.get(), False

    async def send(self, request: Request, due: float | None = None) -> Answer:
        due = time.perf_counter() if due is None else due
        raw = request.encode(f"{self.host}:{self.port}")
        conn, new = await self._connection()
        try:
            async with asyncio.timeout(TIMEOUT):
                try:
                    status, body = await conn.send(raw)
                except (asyncio.IncompleteReadError, ConnectionError) as exc:
                    # The server closed an idle keep-alive connection (uvicorn does after 5 s):
                    # nothing was answered, so send again on a new one (POSTs carry their
                    # Idempotency-Key, so even a request it did see is the same draw).
                    if new or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                        raise
                    conn.writer.close()
                    conn = await self._open()
                    status, body = await conn.send(raw)
        except BaseException:
            conn.writer.close()
            self.opened -= 1
            raise
        self.idle.put_nowait(conn)
        return Answer(status, body, due, time.perf_counter())

    async def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait().writer.close()

    async def closed_loop(
        self, make: Callable[[int], Request], seconds: float
    ) -> tuple[list[Answer], float]:
        """Every connection sends its next request as soon as the last one is answered."""
        stop = time.perf_counter() + seconds
        answers: list[Answer] = []
        counter = iter(range(10**12))

        async def loop() -> None:
            while time.perf_counter() < stop:
                answers.append(await self.send(make(next(counter))))

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(self.size)))
        return answers, time.perf_counter() - started

    async def open_loop(
        self, requests: list[Request], rate: float
    ) -> tuple[list[Answer | BaseException], float]:
        """``requests`` started on a fixed schedule of ``rate`` a second, whatever the answers
        (requests beyond the free connections wait for one: that wait is in their latency).
        Returns the answers (or errors) and when the last request was due."""
        started = time.perf_counter()
        interval = 1.0 / rate
        tasks = []
        for index, request in enumerate(requests):
            due = started + index * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.send(request, due)))
        sent = time.perf_counter()
        answers = await asyncio.gather(*tasks, return_exceptions=True)
        return list(answers), sent


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]
