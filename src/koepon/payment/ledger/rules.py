"""The ledger's rules as pure functions: account flags, transfer validation and application.

TigerBeetle-shaped: an account keeps four integer balances; a transfer moves ``amount`` from a
debit account to a credit account of the same ledger, either at once or in two phases (a pending
transfer reserves, a later post or void — at most one — resolves it). Nothing here does I/O, so
every rule is tested exhaustively and the service only loads, locks and stores.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import IntFlag


class AccountFlags(IntFlag):
    NONE = 0
    # A fan's wallet: can never spend more than it holds (pending reservations included).
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    # A debt account: can never be repaid beyond what is owed.
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2


class TransferFlags(IntFlag):
    NONE = 0
    LINKED = 1  # succeeds or fails together with the next transfer of the batch
    PENDING = 2  # phase one: reserve
    POST_PENDING = 4  # phase two: take (all or part of) a pending amount
    VOID_PENDING = 8  # phase two: release a pending amount


RESOLVING = TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING


@dataclass
class Balance:
    """An account's balances and flags (mutable while a batch is applied)."""

    ledger: int
    flags: int
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0


@dataclass(frozen=True)
class Transfer:
    """An immutable transfer. ``amount=None`` on a post means "the whole pending amount"."""

    id: str
    debit_account_id: str = ""
    credit_account_id: str = ""
    amount: int | None = 0
    ledger: int = 0
    code: int = 0
    flags: int = 0
    pending_id: str | None = None
    timeout_seconds: int = 0
    user_data: str | None = None


@dataclass(frozen=True)
class Pending:
    """A pending transfer as stored, with how (if at all) it was resolved."""

    transfer: Transfer
    created_at: datetime
    resolution: str | None = None  # "posted" | "voided" | None

    @property
    def expires_at(self) -> datetime | None:
        if self.transfer.timeout_seconds <= 0:
            return None
        return self.created_at + timedelta(seconds=self.transfer.timeout_seconds)


class LedgerError(Exception):
    """A transfer the ledger refuses; ``code`` is stable (TigerBeetle's result names)."""

    def __init__(self, code: str, transfer_id: str = "", detail: str = "") -> None:
        super().__init__(f"{code}: {transfer_id} {detail}".strip())
        self.code = code
        self.transfer_id = transfer_id
        self.detail = detail


def breaks_flags(balance: Balance) -> str | None:
    """The name of the flag ``balance`` breaks, or None."""
    if (
        min(
            balance.debits_pending,
            balance.debits_posted,
            balance.credits_pending,
            balance.credits_posted,
        )
        < 0
    ):
        return "negative_balance"
    if balance.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS and (
        balance.debits_pending + balance.debits_posted > balance.credits_posted
    ):
        return "exceeds_credits"
    if balance.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS and (
        balance.credits_pending + balance.credits_posted > balance.debits_posted
    ):
        return "exceeds_debits"
    return None


def shape_error(transfer: Transfer) -> str | None:
    """Errors visible from the transfer alone (before any account is read)."""
    flags = TransferFlags(transfer.flags)
    if not transfer.id or len(transfer.id) > 200:
        return "id_invalid"
    phases = [
        f
        for f in (TransferFlags.PENDING, TransferFlags.POST_PENDING, TransferFlags.VOID_PENDING)
        if flags & f
    ]
    if len(phases) > 1:
        return "flags_are_mutually_exclusive"
    if flags & RESOLVING:
        if not transfer.pending_id:
            return "pending_id_must_not_be_zero"
        if transfer.pending_id == transfer.id:
            return "pending_id_must_be_different"
        if transfer.amount is not None and transfer.amount < 0:
            return "amount_must_not_be_negative"
        return None
    if transfer.pending_id:
        return "pending_id_must_be_zero"
    if transfer.amount is None or transfer.amount <= 0:
        return "amount_must_be_positive"
    if not transfer.debit_account_id or not transfer.credit_account_id:
        return "account_id_must_not_be_zero"
    if transfer.debit_account_id == transfer.credit_account_id:
        return "accounts_must_be_different"
    if transfer.timeout_seconds < 0:
        return "timeout_must_not_be_negative"
    if transfer.timeout_seconds and not flags & TransferFlags.PENDING:
        return "timeout_reserved_for_pending_transfer"
    return None


def resolved(transfer: Transfer, pending: Pending) -> Transfer:
    """A post/void with the accounts, ledger, code and amount of what it resolves filled in."""
    p = pending.transfer
    assert p.amount is not None
    amount = p.amount
    if transfer.flags & TransferFlags.POST_PENDING and transfer.amount is not None:
        amount = transfer.amount
    return replace(
        transfer,
        debit_account_id=p.debit_account_id,
        credit_account_id=p.credit_account_id,
        ledger=p.ledger,
        code=p.code,
        amount=amount,
        user_data=transfer.user_data if transfer.user_data is not None else p.user_data,
    )


def same_request(stored: Transfer, request: Transfer, pending: Pending | None) -> bool:
    """Whether ``request`` repeats ``stored`` (same id and same fields → same result)."""
    if request.flags & RESOLVING:
        if pending is None:
            return False
        request = resolved(request, pending)
        if stored.user_data is not None and request.user_data is None:
            request = replace(request, user_data=stored.user_data)
    return (
        stored.debit_account_id == request.debit_account_id
        and stored.credit_account_id == request.credit_account_id
        and stored.amount == request.amount
        and stored.ledger == request.ledger
        and stored.code == request.code
        and stored.flags == request.flags
        and (stored.pending_id or None) == (request.pending_id or None)
        and stored.timeout_seconds == request.timeout_seconds
        and (stored.user_data or None) == (request.user_data or None)
    )


def apply(
    transfer: Transfer,
    accounts: dict[str, Balance],
    *,
    pending: Pending | None,
    now: datetime,
) -> Transfer:
    """Apply one transfer to ``accounts`` in place, or raise ``LedgerError`` changing nothing.

    Returns the transfer as it is stored (posts and voids resolved against their pending).
    """
    error = shape_error(transfer)
    if error:
        raise LedgerError(error, transfer.id)
    flags = TransferFlags(transfer.flags)
    if flags & RESOLVING:
        if pending is None:
            raise LedgerError("pending_transfer_not_found", transfer.id)
        if not pending.transfer.flags & TransferFlags.PENDING:
            raise LedgerError("pending_transfer_not_pending", transfer.id)
        if pending.resolution == "posted":
            raise LedgerError("pending_transfer_already_posted", transfer.id)
        if pending.resolution == "voided":
            raise LedgerError("pending_transfer_already_voided", transfer.id)
        expires_at = pending.expires_at
        if expires_at is not None and expires_at <= now and flags & TransferFlags.POST_PENDING:
            # Once its timeout passes a reservation can only be voided (by the sweeper or anyone).
            raise LedgerError("pending_transfer_expired", transfer.id)
        stored = resolved(transfer, pending)
        held = pending.transfer.amount
        assert stored.amount is not None and held is not None
        if stored.amount > held:
            raise LedgerError("exceeds_pending_transfer_amount", transfer.id)
    else:
        stored = transfer
    debit = accounts.get(stored.debit_account_id)
    credit = accounts.get(stored.credit_account_id)
    if debit is None:
        raise LedgerError("debit_account_not_found", transfer.id)
    if credit is None:
        raise LedgerError("credit_account_not_found", transfer.id)
    if not flags & RESOLVING and (debit.ledger != stored.ledger or credit.ledger != stored.ledger):
        raise LedgerError("accounts_must_have_the_same_ledger", transfer.id)
    amount = stored.amount
    assert amount is not None
    new_debit, new_credit = replace(debit), replace(credit)
    if flags & TransferFlags.PENDING:
        new_debit.debits_pending += amount
        new_credit.credits_pending += amount
    elif flags & RESOLVING:
        held = pending.transfer.amount if pending else 0
        assert held is not None
        new_debit.debits_pending -= held
        new_credit.credits_pending -= held
        if flags & TransferFlags.POST_PENDING:
            new_debit.debits_posted += amount
            new_credit.credits_posted += amount
    else:
        new_debit.debits_posted += amount
        new_credit.credits_posted += amount
    for balance in (new_debit, new_credit):
        broken = breaks_flags(balance)
        if broken:
            raise LedgerError(broken, transfer.id)
    accounts[stored.debit_account_id] = new_debit
    accounts[stored.credit_account_id] = new_credit
    return stored


def chains(transfers: list[Transfer]) -> list[list[Transfer]]:
    """Split a batch into linked chains (a chain ends at the first transfer without LINKED)."""
    result: list[list[Transfer]] = []
    current: list[Transfer] = []
    for transfer in transfers:
        current.append(transfer)
        if not transfer.flags & TransferFlags.LINKED:
            result.append(current)
            current = []
    if current:
        result.append(current)  # an open chain at the end of the batch fails as a whole
    return result
