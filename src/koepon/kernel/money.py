"""Integer money: tax-included yen, the tax inside a price, and the one ``円(税込)`` label."""

from __future__ import annotations


def yen_label(amount_jpy: int) -> str:
    """A tax-included price as shown to fans (STYLE: ``1,100円(税込)``)."""
    if not isinstance(amount_jpy, int):
        raise TypeError("yen amounts are integers")
    return f"{amount_jpy:,}円(税込)"


def tax_included_in(price_jpy: int, percent: int) -> int:
    """The consumption tax contained in a tax-included price, rounded down to the yen."""
    if price_jpy < 0 or percent < 0:
        raise ValueError("price and tax rate must not be negative")
    return price_jpy * percent // (100 + percent)


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer division rounding up (never understates what is owed)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return -(-numerator // denominator)
