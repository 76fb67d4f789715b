"""Who may author and review gachas, and the statuses a gacha moves through (pure: no I/O).

A VTuber's team authors: the VTuber service decides what an account may do for a VTuber
(``contracts/vtuber.py`` ``VtuberTeams.permissions``, for team roles and platform roles alike);
this module only says which permission each authoring step needs. Operators (``admin``,
``compliance``) review: approve, reject, publish new odds versions, end.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from koepon.contracts.vtuber import Permission

REVIEWER_ROLES = ("admin", "compliance")


class GachaStatus(StrEnum):
    """draft → submitted → approved | rejected; rejected → (edited) draft; approved → ended."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    ENDED = "ended"


class AuthoringStep(StrEnum):
    CREATE = "create"
    LIST = "list"
    EDIT = "edit"
    SUBMIT = "submit"


# What each step of the team needs for the gacha's VTuber.
NEEDS: dict[AuthoringStep, Permission] = {
    AuthoringStep.CREATE: Permission.GACHA_EDIT,
    AuthoringStep.LIST: Permission.GACHA_EDIT,
    AuthoringStep.EDIT: Permission.GACHA_EDIT,
    AuthoringStep.SUBMIT: Permission.GACHA_SUBMIT,
}
# Holding either, an account sees the team's gachas exist (a refused step is 403, not 404).
SEES_DRAFTS = frozenset({Permission.GACHA_EDIT, Permission.GACHA_SUBMIT})

# The team edits and submits only these; what fans may draw from is never a draft.
EDITABLE = frozenset({GachaStatus.DRAFT, GachaStatus.REJECTED})
# Published: an odds version exists and the public sees the gacha (an ended one stays readable).
PUBLISHED = frozenset({GachaStatus.APPROVED, GachaStatus.ENDED})


def may_author(permissions: Collection[Permission], step: AuthoringStep) -> bool:
    """May an account holding ``permissions`` for a VTuber take this step for its gachas?"""
    return NEEDS[step] in permissions


def sees_drafts(permissions: Collection[Permission]) -> bool:
    """Does the account belong to the authoring side of the VTuber's team at all?"""
    return any(p in SEES_DRAFTS for p in permissions)


def may_review(roles: Collection[str]) -> bool:
    return any(role in roles for role in REVIEWER_ROLES)
