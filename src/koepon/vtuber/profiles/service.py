"""VTuber applications, operators' decisions and the public profile."""

from __future__ import annotations

from koepon.vtuber.context import VtuberContext
from koepon.vtuber.gachas.service import GachaCopies


class Profiles:
    def __init__(self, ctx: VtuberContext, gachas: GachaCopies) -> None:
        self.ctx = ctx
        self.gachas = gachas
