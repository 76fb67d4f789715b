"""Demo data: the demo accounts of API.md, created once, never in production."""

from __future__ import annotations

import pytest

from koepon.seed import DEMO_PASSWORD, DEMO_VTUBER_EMAIL, seed_demo
from vtuber.conftest import vtuber_services

from .conftest import AuthHarness


async def test_demo_accounts_sign_in_after_seeding_and_seeding_twice_changes_nothing(
    auth: AuthHarness,
) -> None:
    await seed_demo(auth.platform)
    users = await auth.count_users()
    await seed_demo(auth.platform)
    assert await auth.count_users() == users == 3
    for email, roles in (
        ("admin@demo.koepon.jp", ["admin", "compliance", "support"]),
        ("vtuber@demo.koepon.jp", ["vtuber"]),
        ("fan@demo.koepon.jp", ["fan"]),
    ):
        pair = (await auth.login(email, DEMO_PASSWORD)).json()
        me = (
            await auth.client.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
            )
        ).json()
        assert me["roles"] == roles
        assert me["email_verified"] is True
        assert me["age_bracket"] == "adult"
        if email == DEMO_VTUBER_EMAIL:
            await assert_demo_vtuber_owned_by(auth, me["id"])


async def assert_demo_vtuber_owned_by(auth: AuthHarness, user_id: str) -> None:
    """The demo account owns the approved demo VTuber, whose id is the account's (the id the
    demo gachas and contents use), in the VTuber service."""
    profiles = vtuber_services(auth.platform).profiles
    async with profiles.ctx.db.transaction(read_only=True) as session:
        profile = await profiles.get(session, user_id)
    assert profile is not None
    assert (profile.owner_user_id, profile.status) == (user_id, "approved")


async def test_seeding_is_refused_in_production(auth: AuthHarness) -> None:
    auth.platform.settings.environment = "production"
    try:
        with pytest.raises(RuntimeError, match="production"):
            await seed_demo(auth.platform)
    finally:
        auth.platform.settings.environment = "test"
    assert await auth.count_users() == 0
