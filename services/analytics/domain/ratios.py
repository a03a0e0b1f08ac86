"""Exact ratios and decimals: how the multiplier and the valuation are rounded and written.

Everything is ``fractions.Fraction`` until the one rounding at the end (half away from
zero), so the same inputs give the same figures on every machine; no float is involved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_DECIMAL = re.compile(r"(\d+)(?:\.(\d+))?")


def round_half_up(value: Fraction) -> int:
    """The integer nearest ``value``, halves away from zero (exact: no float)."""
    if value < 0:
        return -round_half_up(-value)
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def decimal_string(value: Fraction, places: int) -> str:
    """``value`` written with ``places`` decimals, rounded half away from zero."""
    scaled = round_half_up(value * 10**places)
    sign = "-" if scaled < 0 else ""
    whole, fraction = divmod(abs(scaled), 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}" if places else f"{sign}{whole}"


def parse_decimal(text: str) -> Fraction:
    """An exact non-negative decimal from ``"3"`` or ``"2.75"``; ValueError otherwise (no float)."""
    match = _DECIMAL.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a non-negative decimal number: {text!r}")
    whole, fraction = match.group(1), match.group(2) or ""
    return Fraction(int(whole + fraction), 10 ** len(fraction))


@dataclass(frozen=True, slots=True)
class Ratio:
    """An exact ratio of integers and its decimal rendering (half away from zero)."""

    numerator: int
    denominator: int
    decimal: str
    places: int

    @classmethod
    def of(cls, numerator: int, denominator: int, places: int = 2) -> Ratio:
        """``numerator / denominator``; with a zero denominator the decimal is empty (undefined)."""
        if denominator < 0:
            numerator, denominator = -numerator, -denominator
        if denominator == 0:
            return cls(numerator, 0, "", places)
        return cls(numerator, denominator, decimal_string(Fraction(numerator, denominator), places), places)
