"""The ``draw.json`` a fan downloads to re-compute a draw with the standalone verifier: the
revealed seed, the published tables of the draw's odds version, its slots, and its place in
the public log (docs/FAIRNESS.md)."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog.service import Catalog
from koepon.gacha.draws.models import Draw
from koepon.gacha.draws.states import DrawStatus
from koepon.gacha.errors import NotYetLogged, SeedNotRevealed
from koepon.gacha.fairness.bundle import LogProof, verification_bundle
from koepon.gacha.fairness.service import Seeds
from koepon.gacha.odds.slots import published_tables
from koepon.gacha.transparency.service import DrawLog


class Verifications:
    def __init__(self, *, catalog: Catalog, seeds: Seeds, draw_log: DrawLog) -> None:
        self.catalog = catalog
        self.seeds = seeds
        self.draw_log = draw_log

    async def bundle(self, session: AsyncSession, draw: Draw) -> dict[str, Any]:
        """The verifier's input for a completed draw whose seed pair has been rotated."""
        if draw.status != DrawStatus.COMPLETED or draw.results is None:
            raise NotYetLogged("only completed draws can be verified", status=draw.status)
        assert draw.seed_pair_id is not None and draw.odds_version is not None
        seed = await self.seeds.revealed_seed(session, draw.seed_pair_id)
        if seed is None:
            raise SeedNotRevealed(
                "the server seed of this draw is still committed: rotate your seed pair "
                "(POST /api/v1/me/seeds/rotate) to reveal it, then verify",
                server_seed_hash=draw.server_seed_hash,
            )
        config = await self.catalog.version_config(session, draw.gacha_id, draw.odds_version)
        found = await self.draw_log.proof(session, draw.id)
        log = (
            LogProof(
                leaf=found.leaf,
                leaf_index=found.leaf_index,
                tree_size=found.tree_size,
                proof=[base64.b64decode(p) for p in found.proof],
                checkpoint=found.checkpoint,
            )
            if found is not None
            else None
        )
        return verification_bundle(
            server_seed=seed,
            client_seed=draw.client_seed or "",
            tables=published_tables(config),
            slots=[{k: v for k, v in slot.items() if k != "slot"} for slot in draw.results],
            log=log,
            log_key=self.draw_log.verifier_key() if log is not None else None,
        )
