"""The chart of accounts: which accounts exist, their ids, ledgers, codes and flags.

Two ledgers keep paid (有償) and free (無償) medals apart (COMPLIANCE M1): no transfer crosses
them. Per ledger, a fan has a wallet account (never below zero) and a debt account (what a
claw-back could not take; the wallet is locked while it is owed). The platform's side —
issuance, revenue, expiry, claw-back — is **sharded**: each is ``SYSTEM_SHARDS`` accounts and a
transfer picks one by a hash of its id. A hot single row would serialise every draw of every fan
behind one row lock; with shards, concurrent spends of different fans touch different platform
rows, while each account is still an ordinary locked, flag-checked row that the audit sums like
any other (the platform's totals are sums over shards). Nothing is lost by sharding: the
platform accounts carry no balance limit, so no decision ever needs their total.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from koepon.payment.ledger.rules import AccountFlags

MedalKind = Literal["paid", "free"]
LEDGERS: dict[str, int] = {"paid": 1, "free": 2}
KINDS: dict[int, MedalKind] = {1: "paid", 2: "free"}
SYSTEM_SHARDS = 16


class AccountCode(IntEnum):
    WALLET = 1
    DEBT = 2
    ISSUANCE = 10
    REVENUE = 20
    EXPIRY = 30
    CLAW_BACK = 40
    GENERAL = 90


class TransferCode(IntEnum):
    PURCHASE = 1  # paid lot bought
    GRANT = 2  # free medals given by an operator or a campaign
    SPEND = 3  # medals spent (a draw)
    EXPIRE = 4  # unused medals written off at a lot's expiry
    CLAW_BACK = 5  # medals taken back after a chargeback
    DEBT = 6  # the part of a claw-back the wallet could not cover, owed
    SETTLE = 7  # new medals paying off a debt


SYSTEM_CODES = {
    "issuance": AccountCode.ISSUANCE,
    "revenue": AccountCode.REVENUE,
    "expiry": AccountCode.EXPIRY,
    "claw_back": AccountCode.CLAW_BACK,
}


@dataclass(frozen=True)
class AccountSpec:
    id: str
    ledger: int
    code: int
    flags: int
    user_id: str | None


def wallet_account(user_id: str, kind: MedalKind) -> str:
    return f"w:{kind}:{user_id}"


def debt_account(user_id: str, kind: MedalKind) -> str:
    return f"d:{kind}:{user_id}"


def shard_of(transfer_id: str) -> int:
    """Stable across processes and restarts (unlike ``hash``)."""
    digest = hashlib.blake2b(transfer_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % SYSTEM_SHARDS


def system_account(name: str, kind: MedalKind, transfer_id: str) -> str:
    if name not in SYSTEM_CODES:
        raise ValueError(f"Unknown system account {name!r}")
    return f"s:{name}:{kind}:{shard_of(transfer_id):02d}"


def general_account(kind: MedalKind, flags: int, name: str) -> str:
    """An account outside the wallet model (escrows, tests): ledger, flags and name in its id."""
    return f"g:{kind}:{flags}:{name}"


def spec_of(account_id: str) -> AccountSpec:
    """Everything about an account follows from its id, so accounts are created on first use."""
    prefix, _, rest = account_id.partition(":")
    if prefix in ("w", "d"):
        kind, _, user_id = rest.partition(":")
        if kind not in LEDGERS or not user_id:
            raise ValueError(f"Malformed account id {account_id!r}")
        if prefix == "w":
            return AccountSpec(
                account_id,
                LEDGERS[kind],
                AccountCode.WALLET,
                AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                user_id,
            )
        return AccountSpec(
            account_id,
            LEDGERS[kind],
            AccountCode.DEBT,
            AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
            user_id,
        )
    if prefix == "s":
        parts = rest.split(":")
        if len(parts) != 3 or parts[0] not in SYSTEM_CODES or parts[1] not in LEDGERS:
            raise ValueError(f"Malformed account id {account_id!r}")
        return AccountSpec(
            account_id, LEDGERS[parts[1]], SYSTEM_CODES[parts[0]], AccountFlags.NONE, None
        )
    if prefix == "g":
        kind, flags, name = [*rest.split(":", 2), "", ""][:3]
        if kind not in LEDGERS or not flags.isdigit() or int(flags) > 3 or not name:
            raise ValueError(f"Malformed account id {account_id!r}")
        return AccountSpec(account_id, LEDGERS[kind], AccountCode.GENERAL, int(flags), None)
    raise ValueError(f"Malformed account id {account_id!r}")
