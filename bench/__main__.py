"""``python -m bench``: run every benchmark in turn."""

from __future__ import annotations

import asyncio

from bench import ledger

BENCHES = [ledger.main]


def run() -> None:
    for bench in BENCHES:
        asyncio.run(bench())


if __name__ == "__main__":
    run()
