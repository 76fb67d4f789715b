"""The yen ledger's accounts and what a statement posts to them (pure: no I/O).

A transfer moves a positive amount from its debit account to its credit account; an account's
balance is Σ credits − Σ debits. A statement posts, under its own id as ``ref``:

=================  =================================  ===========================  ==============
reason             debit                              credit                       amount
=================  =================================  ===========================  ==============
``sales``          ``medals:paid_value``              ``platform:paid_medal_sales``  gross
``share``          ``platform:paid_medal_sales``      ``vtuber:{id}:payable``      share
``withholding``    ``vtuber:{id}:payable``            ``tax:withholding_payable``  withholding
``payout``         ``vtuber:{id}:payable``            ``bank:payouts``             net (when paid)
=================  =================================  ===========================  ==============

A negative gross or share is posted the other way round. So ``platform:paid_medal_sales`` holds
the platform's fees, a VTuber's payable account holds its unpaid nets plus its carried debt
(negative), the tax account what is owed to the tax office, and ``bank:payouts`` what left the
bank. ``medals:paid_value`` is the counterpart of the paid medals' yen value recognised from
sales (the payment service's medal ledger holds the medals themselves).
"""

from __future__ import annotations

from dataclasses import dataclass

MEDAL_VALUE = "medals:paid_value"
PLATFORM_SALES = "platform:paid_medal_sales"
WITHHOLDING = "tax:withholding_payable"
BANK = "bank:payouts"
PAYABLE_PREFIX = "vtuber:"
PAYABLE_SUFFIX = ":payable"

SALES = "sales"
SHARE = "share"
WITHHELD = "withholding"
PAYOUT = "payout"


def payable_account(vtuber_id: str) -> str:
    return f"{PAYABLE_PREFIX}{vtuber_id}{PAYABLE_SUFFIX}"


@dataclass(frozen=True)
class Posting:
    debit_account: str
    credit_account: str
    amount_jpy: int
    reason: str


def _posting(debit: str, credit: str, amount: int, reason: str) -> list[Posting]:
    if amount == 0:
        return []
    if amount < 0:
        return [Posting(credit, debit, -amount, reason)]
    return [Posting(debit, credit, amount, reason)]


def closing(
    *, vtuber_id: str, gross_jpy: int, vtuber_share_jpy: int, withholding_jpy: int
) -> list[Posting]:
    """What issuing a statement posts (zero amounts post nothing)."""
    payable = payable_account(vtuber_id)
    return [
        *_posting(MEDAL_VALUE, PLATFORM_SALES, gross_jpy, SALES),
        *_posting(PLATFORM_SALES, payable, vtuber_share_jpy, SHARE),
        *_posting(payable, WITHHOLDING, withholding_jpy, WITHHELD),
    ]


def payout(*, vtuber_id: str, net_payable_jpy: int) -> list[Posting]:
    """What paying a statement posts."""
    return _posting(payable_account(vtuber_id), BANK, net_payable_jpy, PAYOUT)
