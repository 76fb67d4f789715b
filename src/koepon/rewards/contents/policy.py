"""Who may manage a VTuber's contents (pure: no I/O).

Interim rule until the VTuber service exists (the same as the gacha catalogue's): a VTuber's team
is the VTuber account itself, so an account with the platform role ``vtuber`` manages contents
only for ``vtuber_id == its own user id``; an ``admin`` manages any VTuber's.
"""

from __future__ import annotations

from collections.abc import Collection

TEAM_ROLES = ("vtuber", "admin")


def may_manage(user_id: str, roles: Collection[str], vtuber_id: str) -> bool:
    """May this account upload, list and retire the contents of ``vtuber_id``?"""
    if "admin" in roles:
        return True
    return "vtuber" in roles and user_id == vtuber_id
