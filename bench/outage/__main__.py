"""``python -m bench.outage``: the outage run (same as ``python -m bench outage``)."""

from bench.outage import main

main()
