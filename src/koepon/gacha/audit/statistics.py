"""Declared versus observed outcomes: chi-square on tiers, exact binomial tests on rare tiers.

Inputs are the declared integer weights and the observed counts of one table (per rarity tier
or per item); slots drawn from other tables (guaranteed, pity) are audited against their own
table. An alert is raised when any test's p-value falls below the threshold (default 0.001),
so a fair table alerts on roughly one audit in a thousand per test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

ALERT_P = 0.001
RARE_RATE = Fraction(5, 100)  # tiers declared at 5% or less also get an exact binomial test
MIN_EXPECTED = 5  # chi-square cells with fewer expected outcomes are pooled


@dataclass(frozen=True)
class Row:
    key: str
    declared_ppm: int
    observed: int
    expected: Fraction
    observed_ppm: int
    binomial_p: float | None  # rare tiers only


@dataclass(frozen=True)
class AuditReport:
    draws: int
    rows: tuple[Row, ...]
    chi_square: float | None
    degrees_of_freedom: int
    chi_square_p: float | None
    alert: bool
    alert_p: float

    def row(self, key: str) -> Row:
        return next(row for row in self.rows if row.key == key)


def _pooled_cells(expected: list[Fraction], observed: list[int]) -> list[tuple[Fraction, int]]:
    """Cells for the chi-square test: small cells pooled together until each expects ≥ 5."""
    order = sorted(range(len(expected)), key=lambda i: expected[i])
    cells: list[tuple[Fraction, int]] = []
    pool_e, pool_o = Fraction(0), 0
    for i in order:  # smallest first: only the small cells at the start get pooled
        if pool_e == 0 and expected[i] >= MIN_EXPECTED:
            cells.append((expected[i], observed[i]))
            continue
        pool_e, pool_o = pool_e + expected[i], pool_o + observed[i]
        if pool_e >= MIN_EXPECTED:
            cells.append((pool_e, pool_o))
            pool_e, pool_o = Fraction(0), 0
    if pool_e:
        if cells:
            e, o = cells.pop()
            cells.append((e + pool_e, o + pool_o))
        else:
            cells.append((pool_e, pool_o))
    return cells


def audit(
    declared: Mapping[str, int],
    observed: Mapping[str, int],
    *,
    alert_p: float = ALERT_P,
    rare_rate: Fraction = RARE_RATE,
) -> AuditReport:
    """Compare observed counts with declared weights (keys: tiers or items, same table)."""
    from scipy import stats  # imported here: it takes seconds, and only audits need it

    unknown = set(observed) - set(declared)
    if unknown:
        raise ValueError(f"observed outcomes not in the table: {sorted(unknown)}")
    total = sum(declared.values())
    if total <= 0 or any(w < 0 for w in declared.values()):
        raise ValueError("declared weights are non-negative with a positive total")
    draws = sum(observed.values())
    rows = []
    for key, weight in declared.items():
        p = Fraction(weight, total)
        seen = observed.get(key, 0)
        binomial = None
        if draws and 0 < p <= rare_rate:
            binomial = float(stats.binomtest(seen, draws, float(p)).pvalue)
        rows.append(
            Row(
                key=key,
                declared_ppm=weight * 1_000_000 // total,
                observed=seen,
                expected=p * draws,
                observed_ppm=seen * 1_000_000 // draws if draws else 0,
                binomial_p=binomial,
            )
        )
    chi_square = chi_p = None
    df = 0
    positive = [row for row in rows if row.expected > 0]
    if any(row.observed for row in rows if row.expected == 0):
        # An outcome the table cannot produce: the strongest possible evidence of a fault.
        chi_square, chi_p = float("inf"), 0.0
    elif draws:
        cells = _pooled_cells([r.expected for r in positive], [r.observed for r in positive])
        df = len(cells) - 1
        if df >= 1:
            statistic = sum((o - e) ** 2 / e for e, o in cells)
            chi_square = float(statistic)
            chi_p = float(stats.chi2.sf(chi_square, df))
    p_values = [p for p in (chi_p, *(r.binomial_p for r in rows)) if p is not None]
    return AuditReport(
        draws=draws,
        rows=tuple(rows),
        chi_square=chi_square,
        degrees_of_freedom=df,
        chi_square_p=chi_p,
        alert=any(p < alert_p for p in p_values),
        alert_p=alert_p,
    )
