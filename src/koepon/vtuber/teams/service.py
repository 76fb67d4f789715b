"""A VTuber's team: members, invitations, the record of changes, and permissions."""

from __future__ import annotations

from koepon.vtuber.context import VtuberContext
from koepon.vtuber.profiles.service import Profiles


class Teams:
    def __init__(self, ctx: VtuberContext, profiles: Profiles) -> None:
        self.ctx = ctx
        self.profiles = profiles
