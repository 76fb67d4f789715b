"""Downloads' use cases (filled in by the downloads work)."""

from __future__ import annotations

from koepon.rewards.contents.service import Contents
from koepon.rewards.context import RewardsContext
from koepon.rewards.entitlements.service import Entitlements


class Downloads:
    def __init__(self, ctx: RewardsContext, entitlements: Entitlements, contents: Contents) -> None:
        self.ctx = ctx
        self.entitlements = entitlements
        self.contents = contents
