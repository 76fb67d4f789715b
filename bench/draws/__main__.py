"""``python -m bench.draws``: the draw benchmark (same as ``python -m bench draws``)."""

from bench.draws import main

main()
