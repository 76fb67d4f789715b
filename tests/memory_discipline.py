"""How the test process keeps its heap small and its garbage collections between tests.

Measured on ``tests/auth`` (307 tests, one process): Python's cyclic collector took 106 s of a
474 s run, in full collections of ~1.5 s each, one every five or six tests, and each of those
froze the event loop in the middle of whatever test was running — long enough for a 5 s
connect timeout or a "refused within 5 s" assertion to fail on a slower machine.

Two causes, two remedies:

- FastAPI (0.16x) classifies each dependency callable once and keeps the answer in three
  ``lru_cache``s of 4,096 entries keyed by the callable itself. A platform's routes hold a few
  hundred bound methods and closures, so those caches kept the last ~25 platforms of the session
  alive (~800,000 objects) for every full collection to walk. A server builds one app and never
  notices; a test session builds one per test. The caches are emptied after each test.
- The import-time heap (~290,000 objects) is frozen once collected, so no collection walks it
  again; the automatic full collection is replaced by one between tests every
  ``COLLECT_EVERY`` tests, where its pause delays no test. Young collections run as usual.

Together: ``tests/auth`` 372 s → 312 s, collections 106 s → 31 s.
"""

from __future__ import annotations

import gc

import pytest
from fastapi.dependencies import models as fastapi_dependency_models

COLLECT_EVERY = 20
# Full collections only when asked (``gc.collect()``); generations 0 and 1 as by default.
_NO_AUTOMATIC_FULL_COLLECTION = (700, 10, 10**9)


def _forget_fastapi_callables() -> None:
    for name in dir(fastapi_dependency_models):
        cached = getattr(fastapi_dependency_models, name)
        if name.endswith("_cached") and hasattr(cached, "cache_clear"):
            cached.cache_clear()


class MemoryDiscipline:
    def __init__(self) -> None:
        self.finished = 0
        self.thresholds = gc.get_threshold()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.thresholds = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(*_NO_AUTOMATIC_FULL_COLLECTION)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        _forget_fastapi_callables()
        self.finished += 1
        if self.finished == 2:
            # What the first tests imported lazily and the session fixtures they built.
            gc.collect()
            gc.freeze()
        elif self.finished % COLLECT_EVERY == 0:
            gc.collect()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        gc.unfreeze()
        gc.set_threshold(*self.thresholds)
