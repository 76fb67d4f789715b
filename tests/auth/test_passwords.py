"""argon2id password hashes: verified, wrong ones refused, rehashed when parameters change."""

from __future__ import annotations

from argon2 import PasswordHasher, Type

from koepon.auth.passwords import Passwords

CHEAP = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
STRONGER = PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1)


async def test_hashes_are_argon2id_and_verify() -> None:
    passwords = Passwords(CHEAP)
    hashed = await passwords.hash("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert CHEAP.type is Type.ID
    assert await passwords.verify(hashed, "correct horse battery")
    assert not await passwords.verify(hashed, "wrong horse battery")


async def test_an_unknown_account_never_verifies() -> None:
    passwords = Passwords(CHEAP)
    assert not await passwords.verify(None, "koepon-dummy-password")


async def test_a_broken_hash_does_not_verify() -> None:
    assert not await Passwords(CHEAP).verify("not-a-hash", "anything at all")


async def test_changed_parameters_ask_for_a_rehash() -> None:
    hashed = await Passwords(CHEAP).hash("correct horse battery")
    assert not Passwords(CHEAP).needs_rehash(hashed)
    assert Passwords(STRONGER).needs_rehash(hashed)
