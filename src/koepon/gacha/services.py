"""The typed, frozen set of the gacha service's services (built by ``unit.py``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from koepon.gacha.audit.service import Audits
from koepon.gacha.audit.tasks import NightlyAudit
from koepon.gacha.catalog.authoring import Authoring
from koepon.gacha.catalog.proposals import Proposals
from koepon.gacha.catalog.public import PublicCatalog
from koepon.gacha.catalog.reviews import Reviews
from koepon.gacha.catalog.service import Catalog
from koepon.gacha.draws.exchanges import Exchanges
from koepon.gacha.draws.reversals import Reversals
from koepon.gacha.draws.saga import DrawSaga
from koepon.gacha.draws.service import Draws
from koepon.gacha.draws.tasks import DrawRecovery, DrawWorker
from koepon.gacha.draws.verification import Verifications
from koepon.gacha.draws.wallets import GuardedWallets
from koepon.gacha.fairness.service import Seeds
from koepon.gacha.transparency.service import DrawLog
from koepon.gacha.transparency.tasks import LogPublisher

Job = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class GachaServices:
    """Every service of the gacha service, built once (typed; no look-up by name)."""

    catalog: Catalog
    authoring: Authoring
    reviews: Reviews
    proposals: Proposals
    public_catalog: PublicCatalog
    seeds: Seeds
    draw_log: DrawLog
    log_publisher: LogPublisher
    wallets: GuardedWallets
    saga: DrawSaga
    draws: Draws
    draw_worker: DrawWorker
    draw_recovery: DrawRecovery
    exchanges: Exchanges
    reversals: Reversals
    verifications: Verifications
    audits: Audits
    nightly_audit: NightlyAudit
    on_shutdown: list[Job] = field(default_factory=list)
