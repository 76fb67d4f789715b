"""An HTTP/1.1 load client for the benchmarks, run in its own process: closed-loop (as fast as
the server answers) or open-loop (requests started on a fixed schedule, whatever the answers).

Open-loop latency is measured from when a request was *due*, not from when a connection was
free to send it, so a server that falls behind shows its queueing in p99 (no coordinated
omission). Keep-alive connections, no pipelining; responses must carry Content-Length (every
answer of uvicorn + Starlette does).

``python -m bench.load URL [--rate R] [--seconds S] [--connections C] [-H 'Name: value']``
prints one JSON object: requests, seconds, rate, errors, p50_ms, p99_ms, max_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import time
from urllib.parse import urlsplit

import uvloop


class _Connection(asyncio.Protocol):
    """One keep-alive connection that sends a request when told and reports each answer."""

    def __init__(self, client: _Client) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.due = 0.0
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is a look-alike
        self.ready.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.lost(self, exc)

    def send(self, due: float) -> None:
        self.due = due
        assert self.transport is not None
        self.transport.write(self.client.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        marker = head.find(b"\r\ncontent-length:")
        if marker < 0:
            raise RuntimeError("response without Content-Length")
        start = marker + len(b"\r\ncontent-length:")
        stop = head.find(b"\r\n", start)
        length = int(head[start : stop if stop >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        del self.buffer[: end + 4 + length]
        self.client.answered(self, status, self.due)


class _Client:
    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host = host
        self.port = port
        self.request = request
        self.idle: collections.deque[_Connection] = collections.deque()
        self.backlog: collections.deque[float] = collections.deque()
        self.closed_loop = False
        self.measuring_from = float("inf")
        self.latencies: list[float] = []
        self.errors = 0
        self.statuses: collections.Counter[int] = collections.Counter()
        self.failure: Exception | None = None
        # Set once the schedule has ended and every connection is idle again.
        self.drained: asyncio.Event | None = None
        self.connections = 0

    async def connect(self, count: int) -> list[_Connection]:
        loop = asyncio.get_running_loop()
        connections = []
        for _ in range(count):
            _transport, conn = await loop.create_connection(
                lambda: _Connection(self), self.host, self.port
            )
            await conn.ready
            connections.append(conn)
        return connections

    def answered(self, conn: _Connection, status: int, due: float) -> None:
        now = time.perf_counter()
        if due >= self.measuring_from:
            self.latencies.append(now - due)
            if not 200 <= status < 300:
                self.errors += 1
                self.statuses[status] += 1
        if self.closed_loop:
            conn.send(now)
        elif self.backlog:
            conn.send(self.backlog.popleft())
        else:
            self.idle.append(conn)
            if self.drained is not None and len(self.idle) == self.connections:
                self.drained.set()

    def lost(self, conn: _Connection, exc: Exception | None) -> None:
        if self.failure is None:
            self.failure = exc or ConnectionError("the server closed a connection")

    def dispatch(self, due: float) -> None:
        if self.idle:
            self.idle.popleft().send(due)
        else:
            self.backlog.append(due)


def _request(url: str, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", *headers]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return parts.hostname or "127.0.0.1", parts.port or 80, request


async def run(
    url: str,
    *,
    rate: float | None,
    seconds: float,
    warmup: float,
    connections: int,
    headers: list[str],
) -> dict[str, object]:
    host, port, request = _request(url, headers)
    client = _Client(host, port, request)
    conns = await client.connect(connections)
    started = time.perf_counter()
    client.measuring_from = started + warmup
    stop = client.measuring_from + seconds
    if rate is None:
        client.closed_loop = True
        for conn in conns:
            conn.send(started)
        await asyncio.sleep(stop - started)
        client.closed_loop = False
    else:
        client.idle.extend(conns)
        interval = 1.0 / rate
        sent = 0
        while (now := time.perf_counter()) < stop and client.failure is None:
            due_count = int((now - started) / interval) + 1
            while sent < due_count:
                client.dispatch(started + sent * interval)
                sent += 1
            await asyncio.sleep(0.0005)
        # Let the requests due inside the window finish (their latency is part of the result).
        if len(client.idle) < len(conns):
            client.drained = asyncio.Event()
            client.connections = len(conns)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(client.drained.wait(), 10)
    elapsed = stop - client.measuring_from
    if client.failure is not None:
        raise client.failure
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    latencies = sorted(client.latencies)
    count = len(latencies)

    def pct(p: float) -> float:
        return round(latencies[min(count - 1, int(p * count))] * 1000, 2) if count else 0.0

    return {
        "requests": count,
        "seconds": round(elapsed, 2),
        "rate": round(count / elapsed, 1),
        "errors": client.errors,
        "statuses": {str(k): v for k, v in client.statuses.items()},
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 2) if count else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=None, help="open-loop requests per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("-H", "--header", action="append", default=[])
    args = parser.parse_args()
    result = uvloop.run(
        run(
            args.url,
            rate=args.rate,
            seconds=args.seconds,
            warmup=args.warmup,
            connections=args.connections,
            headers=args.header,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
