"""A fan's wallet history from ledger transfers (pure): what each transfer did to the balance."""

from __future__ import annotations

from typing import Any

from koepon.payment.ledger.accounts import KINDS, TransferCode, wallet_account
from koepon.payment.ledger.rules import Transfer, TransferFlags
from koepon.payment.wallet.schemas import TransactionRead

TYPE_NAMES = {
    TransferCode.PURCHASE: "purchase",
    TransferCode.GRANT: "grant",
    TransferCode.SPEND: "spend",
    TransferCode.EXPIRE: "expiry",
    TransferCode.CLAW_BACK: "claw_back",
    TransferCode.DEBT: "debt",
    TransferCode.SETTLE: "settlement",
}


def history_item(row: Any, user_id: str, pendings: dict[str, Transfer]) -> TransactionRead:
    """One line of the history; ``pendings`` are the pending transfers ``row`` may resolve."""
    kind = KINDS[row.ledger]
    wallet = wallet_account(user_id, kind)
    flags = row.flags
    code = TransferCode(row.code)
    base = row.id.rsplit("/", 2)[0] if code == TransferCode.SPEND else row.id.rsplit("/", 1)[0]
    if flags & TransferFlags.PENDING:
        type_name, effect = "spend_reserved", -row.amount
    elif flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING):
        held = pendings[row.pending_id].amount or 0 if row.pending_id in pendings else 0
        if flags & TransferFlags.POST_PENDING:
            type_name, effect = "spend", held - row.amount
        else:
            type_name, effect = "spend_released", held
    else:
        type_name = TYPE_NAMES[code]
        if row.credit_account_id == wallet:
            effect = row.amount
        elif row.debit_account_id == wallet:
            effect = -row.amount
        else:
            effect = 0  # debt accounts: the spendable balance does not move
    return TransactionRead(
        id=row.id,
        reference=base,
        type=type_name,
        kind=kind,
        medals=row.amount,
        balance_effect=effect,
        occurred_at=row.created_at,
    )
