"""The teams policy, role by role and permission by permission (pure)."""

from __future__ import annotations

import pytest

from koepon.contracts.vtuber import Permission as P
from koepon.vtuber.teams import policy
from koepon.vtuber.teams.policy import BankAccess, TeamRole

# Every team role × every permission, for an approved VTuber.
TEAM_TABLE: dict[str, set[P]] = {
    "owner": set(P),
    "manager": {
        P.PROFILE_EDIT,
        P.CONTENT_UPLOAD,
        P.GACHA_EDIT,
        P.GACHA_SUBMIT,
        P.SALES_READ,
        P.TEAM_MANAGE,
    },
    "editor": {P.CONTENT_UPLOAD, P.GACHA_EDIT},
    "analyst": {P.SALES_READ},
}
PLATFORM_TABLE: dict[str, set[P]] = {
    "admin": set(P),
    "compliance": {P.SALES_READ, P.PAYOUT_READ},
    "support": set(),
    "fan": set(),
    "vtuber": set(),  # the old interim role grants nothing by itself
}


def member(role: str | None, *, status: str | None = "approved", roles: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return policy.standing(
        status=status,
        owner_user_id="owner-1",
        member_role=role,
        user_id="u-2",
        platform_roles=roles,
    )


def owner(*, status: str | None = "approved"):  # type: ignore[no-untyped-def]
    return policy.standing(
        status=status,
        owner_user_id="owner-1",
        member_role=None,
        user_id="owner-1",
        platform_roles=(),
    )


@pytest.mark.parametrize("role", sorted(TEAM_TABLE))
@pytest.mark.parametrize("permission", list(P))
def test_team_role_grants_exactly_its_row(role: str, permission: P) -> None:
    who = owner() if role == "owner" else member(role)
    assert policy.allows(who, permission) is (permission in TEAM_TABLE[role])


def test_a_co_owner_member_row_is_an_owner() -> None:
    assert policy.permissions(member("owner")) == frozenset(P)


@pytest.mark.parametrize("role", sorted(PLATFORM_TABLE))
@pytest.mark.parametrize("permission", list(P))
@pytest.mark.parametrize("status", ["approved", "pending", "suspended", "rejected", None])
def test_platform_role_grants_its_row_on_any_vtuber(
    role: str, permission: P, status: str | None
) -> None:
    who = member(None, status=status, roles=(role,))
    assert policy.allows(who, permission) is (permission in PLATFORM_TABLE[role])


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended", None])
@pytest.mark.parametrize("role", sorted(TEAM_TABLE))
def test_no_team_permission_unless_the_vtuber_is_approved(status: str | None, role: str) -> None:
    who = owner(status=status) if role == "owner" else member(role, status=status)
    assert policy.permissions(who) == frozenset()


def test_an_outsider_gets_nothing() -> None:
    assert policy.permissions(member(None)) == frozenset()


def test_platform_roles_add_to_team_roles() -> None:
    assert policy.permissions(member("analyst", roles=("compliance",))) == {
        P.SALES_READ,
        P.PAYOUT_READ,
    }


def test_only_owners_and_admins_assign_the_owner_role() -> None:
    for role in TeamRole:
        assert policy.may_assign(owner(), role)
        assert policy.may_assign(member("owner"), role)
        assert policy.may_assign(member(None, roles=("admin",)), role)
        assert policy.may_assign(member("manager"), role) is (role is not TeamRole.OWNER)
        for weaker in ("editor", "analyst"):
            assert not policy.may_assign(member(weaker), role)
        assert not policy.may_assign(member("manager", status="suspended"), role)
        assert not policy.may_assign(member(None, roles=("compliance", "support")), role)


def test_private_view_and_bank_access() -> None:
    assert policy.private_view(owner()) is BankAccess.FULL
    assert policy.private_view(owner(status="pending")) is BankAccess.FULL  # own application
    assert policy.private_view(owner(status="suspended")) is BankAccess.FULL
    assert policy.private_view(member(None, roles=("admin",))) is BankAccess.MASKED
    assert policy.private_view(member(None, roles=("compliance",))) is BankAccess.NONE
    assert policy.private_view(member("owner")) is BankAccess.NONE
    for nobody in (member("manager"), member("editor"), member("analyst"), member(None)):
        assert policy.private_view(nobody) is None
    assert policy.private_view(member(None, roles=("support",))) is None
    assert policy.private_view(member("owner", status="suspended")) is None


def test_payout_details_only_by_the_account_owner_or_an_admin() -> None:
    assert policy.may_edit_payout_details(owner())
    assert not policy.may_edit_payout_details(owner(status="suspended"))
    assert policy.may_edit_payout_details(member(None, roles=("admin",)))
    for other in ("owner", "manager", "editor", "analyst"):
        assert not policy.may_edit_payout_details(member(other))
    assert not policy.may_edit_payout_details(member(None, roles=("compliance",)))


def test_team_view_and_the_record() -> None:
    for role in TEAM_TABLE:
        who = owner() if role == "owner" else member(role)
        assert policy.may_view_team(who)
        assert policy.may_read_changes(who) is (role in ("owner", "manager"))
    for staff in ("admin", "support", "compliance"):
        assert policy.may_view_team(member(None, roles=(staff,)))
        assert policy.may_read_changes(member(None, roles=(staff,))) is (staff != "support")
    assert not policy.may_view_team(member(None))
    assert not policy.may_view_team(member("editor", status="suspended"))


def test_operator_decisions() -> None:
    cases = {
        "admin": (True, True, True),
        "compliance": (True, True, False),
        "support": (True, False, False),
        "fan": (False, False, False),
    }
    for role, (lists, decides, shares) in cases.items():
        assert policy.may_list_applications({role}) is lists
        assert policy.may_decide_applications({role}) is decides
        assert policy.may_set_revenue_share({role}) is shares
