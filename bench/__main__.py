"""``python -m bench [NAME…]``: run the named benchmarks (``ledger``, ``http``, ``draws``), or
every one; ``python -m bench recovery``: the backup/restore drill at scale (minutes);
``python -m bench outage [--src TREE]``: the outage run alone (about five minutes)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from bench import draws, http, ledger, outage, recovery

BENCHES: dict[str, Callable[[], None]] = {
    "ledger": lambda: asyncio.run(ledger.main()),
    "http": http.main,
    "draws": draws.main,
    "outage": lambda: outage.main([]),
    "recovery": recovery.main,
}
# Run only when named: it starts its own servers and breaks them on purpose.
NOT_BY_DEFAULT = {"outage", "recovery"}


def run(names: list[str]) -> None:
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    for name in names or [name for name in BENCHES if name not in NOT_BY_DEFAULT]:
        BENCHES[name]()


if __name__ == "__main__":
    if sys.argv[1:2] == ["outage"]:
        outage.main(sys.argv[2:])  # it takes options of its own
    run(sys.argv[1:])
