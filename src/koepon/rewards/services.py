"""The typed, frozen set of the rewards service's services (built by ``unit.py``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from koepon.rewards.contents.direct import DirectUploads
from koepon.rewards.contents.service import Contents
from koepon.rewards.downloads.exports import Exports
from koepon.rewards.downloads.service import Downloads
from koepon.rewards.entitlements.service import Entitlements

Job = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class RewardsServices:
    """Every service of the rewards service, built once (typed; no look-up by name)."""

    contents: Contents
    direct_uploads: DirectUploads
    entitlements: Entitlements
    downloads: Downloads
    exports: Exports
    on_shutdown: list[Job] = field(default_factory=list)
