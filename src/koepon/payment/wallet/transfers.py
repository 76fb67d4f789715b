"""The ledger transfers of each wallet operation, as pure functions (no I/O).

Transfer ids derive from the caller's id: ``{id}/issue``, ``{id}/settle``, ``{id}/claw_back``,
``{id}/debt``, ``{id}/{kind}`` (+ ``/post`` or ``/void``), ``expire:{lot}:{consumed}``. Linked
transfers commit together or not at all (the ledger's ``LINKED`` chains).
"""

from __future__ import annotations

from dataclasses import replace

from koepon.payment.ledger.accounts import LEDGERS, TransferCode, debt_account, wallet_account
from koepon.payment.ledger.rules import Transfer, TransferFlags
from koepon.payment.wallet.states import KIND_NAMES, MedalKind


def spend_ids(transfer_id: str) -> dict[MedalKind, str]:
    """The pending/spend transfer id of each kind of a spend."""
    return {k: f"{transfer_id}/{k}" for k in KIND_NAMES}


def issue(
    *,
    user_id: str,
    kind: MedalKind,
    medals: int,
    source: str,
    transfer_id: str,
    issuance_account: str,
    owed: int,
) -> tuple[list[Transfer], int]:
    """Credit a lot; what the fan owes of this kind is settled from it at once.

    Returns the transfers and the medals settled."""
    code = TransferCode.PURCHASE if source == "purchase" else TransferCode.GRANT
    transfers = [
        Transfer(
            id=f"{transfer_id}/issue",
            debit_account_id=issuance_account,
            credit_account_id=wallet_account(user_id, kind),
            amount=medals,
            ledger=LEDGERS[kind],
            code=code,
            user_data=source[:200],
        )
    ]
    settle = min(owed, medals)
    if settle:
        transfers[0] = replace(transfers[0], flags=TransferFlags.LINKED)
        transfers.append(
            Transfer(
                id=f"{transfer_id}/settle",
                debit_account_id=wallet_account(user_id, kind),
                credit_account_id=debt_account(user_id, kind),
                amount=settle,
                ledger=LEDGERS[kind],
                code=TransferCode.SETTLE,
                user_data="settle",
            )
        )
    return transfers, settle


def claw_back(
    *,
    user_id: str,
    kind: MedalKind,
    transfer_id: str,
    shard: str,
    taken: int,
    owed: int,
    reason: str,
) -> list[Transfer]:
    """Take ``taken`` medals from the wallet and record ``owed`` more as the fan's debt."""
    transfers: list[Transfer] = []
    if taken:
        transfers.append(
            Transfer(
                id=f"{transfer_id}/claw_back",
                debit_account_id=wallet_account(user_id, kind),
                credit_account_id=shard,
                amount=taken,
                ledger=LEDGERS[kind],
                code=TransferCode.CLAW_BACK,
                flags=TransferFlags.LINKED if owed else 0,
                user_data=reason[:200],
            )
        )
    if owed:
        transfers.append(
            Transfer(
                id=f"{transfer_id}/debt",
                debit_account_id=debt_account(user_id, kind),
                credit_account_id=shard,
                amount=owed,
                ledger=LEDGERS[kind],
                code=TransferCode.DEBT,
                user_data=reason[:200],
            )
        )
    return transfers


def spend(
    *,
    user_id: str,
    split: dict[MedalKind, int],
    transfer_id: str,
    revenue: dict[MedalKind, str],
    timeout_seconds: int | None,
    reason: str | None,
) -> list[Transfer]:
    """One transfer per kind spent (pending when two-phase), linked so both or neither apply."""
    ids = spend_ids(transfer_id)
    kinds = [k for k in KIND_NAMES if split[k]]
    flags = TransferFlags.PENDING if timeout_seconds is not None else TransferFlags.NONE
    return [
        Transfer(
            id=ids[k],
            debit_account_id=wallet_account(user_id, k),
            credit_account_id=revenue[k],
            amount=split[k],
            ledger=LEDGERS[k],
            code=TransferCode.SPEND,
            flags=flags | (TransferFlags.LINKED if i < len(kinds) - 1 else 0),
            timeout_seconds=timeout_seconds or 0,
            user_data=(reason or "spend")[:200],
        )
        for i, k in enumerate(kinds)
    ]


def resolve(
    *, transfer_id: str, held: dict[MedalKind, int], posted: dict[MedalKind, int], post: bool
) -> list[Transfer]:
    """Post (``posted`` medals of each kind) or void the pending transfers of a hold."""
    ids = spend_ids(transfer_id)
    kinds = [k for k in KIND_NAMES if held[k]]
    suffix = "post" if post else "void"
    return [
        Transfer(
            id=f"{ids[k]}/{suffix}",
            pending_id=ids[k],
            amount=posted[k] if post else None,
            flags=(TransferFlags.POST_PENDING if post else TransferFlags.VOID_PENDING)
            | (TransferFlags.LINKED if i < len(kinds) - 1 else 0),
        )
        for i, k in enumerate(kinds)
    ]


def expiry_id(lot_id: str, consumed: int) -> str:
    return f"expire:{lot_id}:{consumed}"


def expire(
    *, user_id: str, kind: MedalKind, lot_id: str, transfer_id: str, medals: int, shard: str
) -> Transfer:
    """Write a lot's unused medals off to the expiry account."""
    return Transfer(
        id=transfer_id,
        debit_account_id=wallet_account(user_id, kind),
        credit_account_id=shard,
        amount=medals,
        ledger=LEDGERS[kind],
        code=TransferCode.EXPIRE,
        user_data=lot_id,
    )
