"""Amounts for people to read, from integer minor units (no float on the way)."""
from __future__ import annotations


def yuan(amount_minor: int) -> str:
    """12345678 -> "123,456.78" (fen to yuan, thousands separated)."""
    sign = "-" if amount_minor < 0 else ""
    whole, fen = divmod(abs(amount_minor), 100)
    return f"{sign}{whole:,}.{fen:02d}"


def yuan_rounded(amount_minor: int) -> str:
    """12345678 -> "123,457" (whole yuan, for tables)."""
    sign = "-" if amount_minor < 0 else ""
    return f"{sign}{(abs(amount_minor) + 50) // 100:,}"
