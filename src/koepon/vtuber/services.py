"""The typed, frozen set of the VTuber service's services (built by ``unit.py``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from koepon.vtuber.gachas.service import GachaCopies
from koepon.vtuber.overlays.service import Overlays
from koepon.vtuber.payouts.service import Payouts
from koepon.vtuber.sales.service import Sales
from koepon.vtuber.teams.directory import Directory
from koepon.vtuber.teams.profiles import Profiles
from koepon.vtuber.teams.service import Teams

Job = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class VtuberServices:
    """Every service of the VTuber service, built once (typed; no look-up by name)."""

    gachas: GachaCopies
    profiles: Profiles
    directory: Directory
    teams: Teams
    overlays: Overlays
    sales: Sales
    payouts: Payouts
    on_shutdown: list[Job] = field(default_factory=list)
