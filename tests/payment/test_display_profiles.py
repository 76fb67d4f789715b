"""The wallet page's short-lived copy of fans' spending profiles (display only)."""

from __future__ import annotations

import pytest

from koepon.contracts.auth import AccountNotFound, SpendingProfile
from koepon.payment.checkout.profiles import DisplayProfiles


class Auth:
    """A fake auth service that counts the questions it is asked."""

    def __init__(self) -> None:
        self.caps: dict[str, int | None] = {}
        self.asked: list[str] = []

    async def __call__(self, user_id: str) -> SpendingProfile:
        self.asked.append(user_id)
        if user_id not in self.caps:
            raise AccountNotFound(user_id)
        return SpendingProfile(
            user_id=user_id, birthdate=None, monthly_purchase_cap_jpy=self.caps[user_id]
        )


class Seconds:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def profiles(auth: Auth, clock: Seconds, **extra: float) -> DisplayProfiles:
    return DisplayProfiles(auth, ttl_seconds=5, clock=clock, **extra)  # type: ignore[arg-type]


async def test_a_profile_is_asked_once_within_its_seconds_and_again_after() -> None:
    auth, clock = Auth(), Seconds()
    auth.caps["fan"] = 2_000
    kept = profiles(auth, clock)
    assert (await kept.get("fan")).monthly_purchase_cap_jpy == 2_000
    auth.caps["fan"] = 1_000
    clock.now += 4.9
    assert (await kept.get("fan")).monthly_purchase_cap_jpy == 2_000
    assert auth.asked == ["fan"]
    clock.now += 0.1
    assert (await kept.get("fan")).monthly_purchase_cap_jpy == 1_000
    assert auth.asked == ["fan", "fan"]


async def test_a_refusal_is_not_kept_and_passes_to_the_caller() -> None:
    auth, clock = Auth(), Seconds()
    kept = profiles(auth, clock)
    for _ in range(2):
        with pytest.raises(AccountNotFound):
            await kept.get("nobody")
    assert auth.asked == ["nobody", "nobody"]


async def test_fans_are_kept_apart_and_the_oldest_leaves_first_at_the_bound() -> None:
    auth, clock = Auth(), Seconds()
    auth.caps.update(a=1, b=2, c=3)
    kept = profiles(auth, clock, max_profiles=2)
    assert [(await kept.get(u)).monthly_purchase_cap_jpy for u in "abc"] == [1, 2, 3]
    auth.asked.clear()
    assert [(await kept.get(u)).monthly_purchase_cap_jpy for u in "cba"] == [3, 2, 1]
    assert auth.asked == ["a"]  # "a" had left to make room for "c"; "b" and "c" were kept


async def test_no_seconds_means_asking_every_time() -> None:
    auth, clock = Auth(), Seconds()
    auth.caps["fan"] = None
    kept = DisplayProfiles(auth, ttl_seconds=0, clock=clock)
    await kept.get("fan")
    await kept.get("fan")
    assert auth.asked == ["fan", "fan"]
