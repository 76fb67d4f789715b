"""Rate audits (INTERFACE STUB: the audit helper replaces it)."""

from __future__ import annotations

from koepon.gacha.catalog.service import Catalog
from koepon.gacha.context import GachaContext


class Audits:
    def __init__(self, ctx: GachaContext, catalog: Catalog) -> None:
        self.ctx = ctx
        self.catalog = catalog
