"""``python -m bench [NAME…]``: run the named benchmarks (``ledger``, ``http``), or every one."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from bench import http, ledger

BENCHES: dict[str, Callable[[], None]] = {
    "ledger": lambda: asyncio.run(ledger.main()),
    "http": http.main,
}


def run(names: list[str]) -> None:
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    for name in names or list(BENCHES):
        BENCHES[name]()


if __name__ == "__main__":
    run(sys.argv[1:])
