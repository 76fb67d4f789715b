"""Who may author and review gachas (pure: no I/O).

Interim rule until the VTuber service exists: a VTuber's team is the VTuber account itself, so
an account with the platform role ``vtuber`` authors only for ``vtuber_id == its own user id``;
an ``admin`` authors for any VTuber. Operators (``admin``, ``compliance``) review: approve,
reject, publish new odds versions, end.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

AUTHOR_ROLES = ("vtuber", "admin")
REVIEWER_ROLES = ("admin", "compliance")


class GachaStatus(StrEnum):
    """draft → submitted → approved | rejected; rejected → (edited) draft; approved → ended."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    ENDED = "ended"


# The team edits and submits only these; what fans may draw from is never a draft.
EDITABLE = frozenset({GachaStatus.DRAFT, GachaStatus.REJECTED})
# Published: an odds version exists and the public sees the gacha (an ended one stays readable).
PUBLISHED = frozenset({GachaStatus.APPROVED, GachaStatus.ENDED})


def may_author(user_id: str, roles: Collection[str], vtuber_id: str) -> bool:
    """May this account author (create, list, edit, submit) gachas of ``vtuber_id``?"""
    if "admin" in roles:
        return True
    return "vtuber" in roles and user_id == vtuber_id


def may_review(roles: Collection[str]) -> bool:
    return any(role in roles for role in REVIEWER_ROLES)
