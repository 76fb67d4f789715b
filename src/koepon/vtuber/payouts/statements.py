"""A monthly statement's arithmetic (COMPLIANCE R1–R3): integer yen in, integer yen out.

- ``gross``: the VTuber's part of the yen value of paid medals spent on their gachas in the JST
  month, reversals of earlier draws included (sales); it may be negative after refunds.
- ``share = floor(gross × share_bp / 10,000)``: rounded toward minus infinity, so the VTuber
  never receives a fraction of a yen that was not earned: on a positive month the platform keeps
  the fraction, on a negative month the VTuber's debt is rounded up by under one yen.
- ``platform_fee = gross − share`` (so share + fee is exactly gross).
- ``payable = share + carried_in`` (``carried_in`` ≤ 0: the debt left by the previous
  statement). When ``payable ≤ 0`` nothing is paid nor withheld and the debt is carried on
  (``carried_out = payable``); otherwise withholding (R2) is taken from ``payable`` and
  ``net = payable − withholding`` is paid, ``carried_out = 0``.
- Input-tax deduction (R3, what the platform may deduct of the consumption tax in the royalty):
  100% from a VTuber whose invoice number was registered on or before the month's last day, else
  the schedule's percentage in force on that day (100% before the schedule's first date, when
  the invoice system did not exist yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from koepon.vtuber.payouts.withholding import EntityType, withholding_jpy

FULL_BP = 10_000


@dataclass(frozen=True)
class StatementFigures:
    gross_jpy: int
    revenue_share_bp: int
    vtuber_share_jpy: int
    platform_fee_jpy: int
    carried_in_jpy: int
    payable_jpy: int
    withholding_jpy: int
    net_payable_jpy: int
    carried_out_jpy: int


def vtuber_share_jpy(gross_jpy: int, share_bp: int) -> int:
    """``floor(gross × share_bp / 10,000)`` (toward minus infinity, also for a negative gross)."""
    if not 0 <= share_bp <= FULL_BP:
        raise ValueError(f"a revenue share of {share_bp} bp is not 0–10,000")
    return gross_jpy * share_bp // FULL_BP


def figures(
    *, gross_jpy: int, share_bp: int, carried_in_jpy: int, entity_type: EntityType | str
) -> StatementFigures:
    """Every figure of one VTuber's statement for one month."""
    if carried_in_jpy > 0:
        raise ValueError("only a debt (≤ 0) is carried into a statement")
    share = vtuber_share_jpy(gross_jpy, share_bp)
    payable = share + carried_in_jpy
    if payable <= 0:
        withholding, net, carried_out = 0, 0, payable
    else:
        withholding = withholding_jpy(payable, entity_type)
        net, carried_out = payable - withholding, 0
    return StatementFigures(
        gross_jpy=gross_jpy,
        revenue_share_bp=share_bp,
        vtuber_share_jpy=share,
        platform_fee_jpy=gross_jpy - share,
        carried_in_jpy=carried_in_jpy,
        payable_jpy=payable,
        withholding_jpy=withholding,
        net_payable_jpy=net,
        carried_out_jpy=carried_out,
    )


def input_tax_deduction_pct(
    *,
    last_day: date,
    invoice_number: str | None,
    invoice_registered_on: date | None,
    schedule: list[tuple[date, int]],
) -> int:
    """The percentage of input tax deductible on the month ending ``last_day`` (R3)."""
    if invoice_number and invoice_registered_on is not None and invoice_registered_on <= last_day:
        return 100
    in_force = [percent for since, percent in sorted(schedule) if since <= last_day]
    return in_force[-1] if in_force else 100
