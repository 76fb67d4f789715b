"""Who may manage a VTuber's contents (pure: no I/O).

The VTuber service decides what an account may do for a VTuber (``contracts/vtuber.py``
``VtuberTeams.permissions``, for team roles and platform roles alike); this module only says
which permissions each step needs: uploading and retiring need ``content.upload``; the team's
list needs ``content.upload`` or ``gacha.edit`` (a gacha's editor picks its items from it).
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from koepon.contracts.vtuber import Permission


class ContentStep(StrEnum):
    UPLOAD = "upload"  # through the service or directly, and completing a direct upload
    RETIRE = "retire"
    LIST = "list"


# Any one of these lets an account take the step.
NEEDS: dict[ContentStep, frozenset[Permission]] = {
    ContentStep.UPLOAD: frozenset({Permission.CONTENT_UPLOAD}),
    ContentStep.RETIRE: frozenset({Permission.CONTENT_UPLOAD}),
    ContentStep.LIST: frozenset({Permission.CONTENT_UPLOAD, Permission.GACHA_EDIT}),
}


def may_manage(permissions: Collection[Permission], step: ContentStep) -> bool:
    """May an account holding ``permissions`` for a VTuber take ``step`` on its contents?"""
    return any(p in NEEDS[step] for p in permissions)
