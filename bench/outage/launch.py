"""Start ``koepon.cli`` with the lost-webhook recovery job's timings shortened to fit a bench
run: the platform reads them from its settings (KOEPON_PAYMENT_RECOVERY_*), set here from the
bench's own variables before the CLI runs; trees where they were module constants get those
patched instead. ``python launch.py ARGS…``."""

from __future__ import annotations

import importlib
import os
import sys

# This file's folder is not part of the platform: never let it shadow a module of the tree.
if sys.path and os.path.dirname(os.path.abspath(__file__)) == os.path.abspath(sys.path[0]):
    sys.path.pop(0)

QUIET_MINUTES = float(os.environ.get("KOEPON_BENCH_RECOVERY_QUIET_MINUTES", "0.25"))
RECOVER_EVERY_SECONDS = float(os.environ.get("KOEPON_BENCH_RECOVERY_EVERY_SECONDS", "5"))


def shorten_recovery() -> str:
    """Shorten the recovery job's timings when the tree has one; say what was done."""
    try:
        tasks = importlib.import_module("koepon.payment.checkout.tasks")
    except ImportError:
        return "no recovery job in this tree"
    if hasattr(tasks, "QUIET_MINUTES"):  # older trees: constants, not settings
        tasks.QUIET_MINUTES = QUIET_MINUTES
        tasks.RECOVER_EVERY_SECONDS = RECOVER_EVERY_SECONDS
    else:
        os.environ["KOEPON_PAYMENT_RECOVERY_QUIET_MINUTES"] = str(QUIET_MINUTES)
        os.environ["KOEPON_PAYMENT_RECOVERY_EVERY_SECONDS"] = str(RECOVER_EVERY_SECONDS)
    return f"recovery job: quiet {QUIET_MINUTES} min, every {RECOVER_EVERY_SECONDS} s"


if __name__ == "__main__":
    note = shorten_recovery()
    print(f'{{"event": "bench.launch", "note": "{note}"}}', flush=True)
    from koepon.cli import main

    sys.argv = ["koepon", *sys.argv[1:]]
    main()
