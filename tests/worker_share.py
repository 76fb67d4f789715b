"""What one test process owns of the shared servers when the suite runs in several processes
(pytest-xdist, ``make test``): its own Redis databases and its own slice of listening ports.
PostgreSQL databases, RabbitMQ exchanges and S3 prefixes are already named per test.

A run in one process is worker 0 of 1 and keeps the numbers it always had."""

from __future__ import annotations

import os

# Redis databases a test process may flush, by what they serve (a process gets one of each).
REDIS_DBS = {"platform": 1, "processes": 2, "kernel": 3, "nginx": 5, "failover": 6}
# Redis has 16 databases (0–15) by default; worker n adds n × this to the numbers above.
REDIS_DB_STRIDE = 7


def worker_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw") or 0)


def worker_count() -> int:
    return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def redis_url(purpose: str, host: str = "127.0.0.1:6379") -> str:
    """The local Redis database this test process flushes for ``purpose``."""
    db = REDIS_DBS[purpose] + worker_index() * REDIS_DB_STRIDE
    if db > 15:
        raise RuntimeError(f"no Redis database left for worker {worker_index()}: run fewer workers")
    return f"redis://{host}/{db}"


def port_slice(ports: range) -> range:
    """This test process's share of ``ports``: two processes never pick the same port."""
    size = len(ports) // worker_count()
    start = ports.start + worker_index() * size
    return range(start, start + size)
