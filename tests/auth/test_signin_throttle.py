"""Sign-in throttling end to end: guesses are counted before the password is checked, waits
grow, and one address's failures never lock others (operators included) out for long."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from .conftest import AuthHarness, client_at, unique_email
from .test_api import assert_problem

WRONG = "wrong password!"


def retry_after(response) -> int:  # type: ignore[no-untyped-def]
    body = assert_problem(response, 429, "login_throttled")
    assert int(response.headers["retry-after"]) == body["retry_after"]
    return int(body["retry_after"])


async def test_parallel_guesses_are_counted_before_the_password_check(auth: AuthHarness) -> None:
    account = await auth.account()
    auth.freeze(datetime.now(UTC))
    answers = await asyncio.gather(*(auth.login(account.email, WRONG) for _ in range(60)))
    statuses = [a.status_code for a in answers]
    checked = statuses.count(401)
    # Five free guesses per address and account, then one past the gate; nothing else is
    # checked, however many arrive at once.
    assert checked <= 6, statuses
    assert statuses.count(429) == 60 - checked
    # The owner's right password is refused too while the wait lasts.
    assert retry_after(await auth.login(account.email)) >= 1


async def test_waits_double_after_the_free_attempts_and_a_success_clears_them(
    auth: AuthHarness,
) -> None:
    account = await auth.account()
    clock = auth.freeze(datetime.now(UTC))
    for _ in range(5):
        assert_problem(await auth.login(account.email, WRONG), 401)
    waits = []
    for _ in range(4):
        assert_problem(await auth.login(account.email, WRONG), 401)
        wait = retry_after(await auth.login(account.email, WRONG))
        waits.append(wait)
        clock.advance(seconds=wait)
    assert waits == [1, 2, 4, 8]
    assert (await auth.login(account.email)).status_code == 200
    # Cleared by the success: the free attempts are back.
    for _ in range(5):
        assert_problem(await auth.login(account.email, WRONG), 401)


@pytest.mark.service_settings(auth={"login_attempts_per_window": 2, "login_window_seconds": 60})
async def test_the_wait_never_exceeds_the_window_and_ends_with_it(auth: AuthHarness) -> None:
    account = await auth.account()
    clock = auth.freeze(datetime.now(UTC))
    longest = 0
    for _ in range(12):
        response = await auth.login(account.email, WRONG)
        if response.status_code == 429:
            wait = retry_after(response)
            longest = max(longest, wait)
            clock.advance(seconds=wait)
    assert 0 < longest <= 60
    clock.advance(seconds=60)
    assert (await auth.login(account.email)).status_code == 200


async def test_guessing_one_account_from_one_address_does_not_lock_its_owner_elsewhere(
    auth: AuthHarness,
) -> None:
    account = await auth.account()
    auth.freeze(datetime.now(UTC))
    async with client_at(auth.platform, "198.51.100.66") as attacker:
        for _ in range(10):
            await attacker.post(
                "/api/v1/auth/login", json={"email": account.email, "password": WRONG}
            )
        blocked = await attacker.post(
            "/api/v1/auth/login", json={"email": account.email, "password": account.password}
        )
        assert blocked.status_code == 429
    # The owner's own address has its own bucket; the account's is looser than one source.
    assert (await auth.login(account.email)).status_code == 200


async def test_many_failures_from_one_address_never_lock_out_its_operators(
    auth: AuthHarness,
) -> None:
    """100 failed sign-ins from a shared address used to shut everyone on it out for 15 min."""
    clock = auth.freeze(datetime.now(UTC))
    operator = await auth.account(roles=["admin"])  # has signed in from this address
    for _ in range(100):
        assert_problem(await auth.login(unique_email(), WRONG), 401)
    for _ in range(5):  # the address is slowed down, not banned
        response = await auth.login(unique_email(), WRONG)
        if response.status_code == 429:
            clock.advance(seconds=retry_after(response))
    # An operator who signed in from here before is not held back by other people's failures.
    again = await auth.login(operator.email, operator.password)
    assert again.status_code == 200, again.text
    # Someone new on the address waits at most a minute, never the whole window.
    newcomer = await auth.signup()
    first = await auth.login(newcomer.json()["email"])
    if first.status_code == 429:
        assert retry_after(first) <= 60
        clock.advance(seconds=retry_after(first))
        first = await auth.login(newcomer.json()["email"])
    assert first.status_code == 200, first.text


@pytest.mark.service_settings(auth={"login_attempts_per_ip_window": 3})
async def test_failures_on_one_address_leave_other_addresses_alone(auth: AuthHarness) -> None:
    auth.freeze(datetime.now(UTC))
    for _ in range(4):
        await auth.login(unique_email(), WRONG)
    fresh = await auth.signup()
    assert fresh.status_code == 201
    assert (await auth.login(fresh.json()["email"])).status_code == 429
    async with client_at(auth.platform, "192.0.2.44") as elsewhere:
        response = await elsewhere.post(
            "/api/v1/auth/login",
            json={"email": fresh.json()["email"], "password": "correct horse battery"},
        )
    assert response.status_code == 200, response.text
