"""Money: an exact integer count of a currency's minor unit (fen for CNY).

No float ever touches money.  ``Money`` refuses anything but an exact ``int``
amount, and arithmetic or ordering across currencies raises
``CurrencyMismatch``.  There is no division: the only way to take a share of
an amount is a fee in basis points.

Rounding rule for basis-point fees (settlement fees, volume discounts)::

    fee = gross * bps / 10000, rounded half up to the minor unit
        = (gross * bps + 5000) // 10000      (integers only)
    net = gross - fee

so ``gross == fee + net`` always, ``0 <= fee <= gross`` and the fee never
decreases when the rate rises.  Example: 1 fen at 5000 bps is 0.5 fen, which
rounds up to a 1-fen fee and a 0-fen net.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

BPS_PER_UNIT = 10_000
_CURRENCY = re.compile(r"[A-Z]{3}")
_DECIMAL = re.compile(r"(-?)(\d+)(?:\.(\d+))?")
# ISO 4217 minor-unit exponents that differ from the usual 2; used only to
# print and parse human-readable amounts.
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined or compared."""


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money in minor units; immutable and currency-checked."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        # type() rather than isinstance(): bool and int subclasses are refused too.
        if type(self.amount_minor) is not int:
            raise TypeError(
                f"money amount must be an int of minor units, "
                f"got {type(self.amount_minor).__name__}"
            )
        if not isinstance(self.currency, str) or not _CURRENCY.fullmatch(self.currency):
            raise ValueError(
                f"currency must be 3 upper-case letters (ISO 4217), got {self.currency!r}"
            )

    @classmethod
    def of(cls, amount_minor: int, currency: str) -> Money:
        """``amount_minor`` minor units of ``currency``."""
        return cls(amount_minor, currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in ``currency``."""
        return cls(0, currency)

    @classmethod
    def total(cls, amounts: Iterable[Money], currency: str) -> Money:
        """The sum of ``amounts`` (zero when empty); all must be in ``currency``."""
        result = cls.zero(currency)
        for amount in amounts:
            result = result + amount
        return result

    @classmethod
    def parse(cls, text: str) -> Money:
        """Read ``"12.34 CNY"`` (the form ``str()`` writes) exactly, without floats."""
        amount, _, currency = text.strip().partition(" ")
        currency = currency.strip()
        digits = minor_unit_digits(currency)
        match = _DECIMAL.fullmatch(amount)
        if match is None:
            raise ValueError(f"not an amount of money: {text!r}")
        sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
        if len(fraction) > digits:
            raise ValueError(f"{currency} has {digits} minor-unit digits: {text!r}")
        minor = int(whole) * 10**digits + int(fraction.ljust(digits, "0") or "0")
        return cls(-minor if sign else minor, currency)

    def is_negative(self) -> bool:
        """Whether the amount is below zero (e.g. a refund)."""
        return self.amount_minor < 0

    def is_zero(self) -> bool:
        """Whether the amount is exactly zero."""
        return self.amount_minor == 0

    def times(self, factor: int) -> Money:
        """This amount ``factor`` times over; ``factor`` must be an exact int."""
        if type(factor) is not int:
            raise TypeError(f"money can only be multiplied by an int, got {type(factor).__name__}")
        return Money(self.amount_minor * factor, self.currency)

    def __add__(self, other: Money) -> Money:
        return Money(self.amount_minor + self._same_currency(other).amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount_minor - self._same_currency(other).amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            return NotImplemented
        return self.times(factor)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount_minor < self._same_currency(other).amount_minor

    def __le__(self, other: Money) -> bool:
        return self.amount_minor <= self._same_currency(other).amount_minor

    def __gt__(self, other: Money) -> bool:
        return self.amount_minor > self._same_currency(other).amount_minor

    def __ge__(self, other: Money) -> bool:
        return self.amount_minor >= self._same_currency(other).amount_minor

    def __str__(self) -> str:
        digits = minor_unit_digits(self.currency)
        sign = "-" if self.amount_minor < 0 else ""
        whole, fraction = divmod(abs(self.amount_minor), 10**digits)
        decimals = f".{fraction:0{digits}d}" if digits else ""
        return f"{sign}{whole}{decimals} {self.currency}"

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
        return other


def minor_unit_digits(currency: str) -> int:
    """How many decimal digits the currency's minor unit has (2 for CNY)."""
    if not _CURRENCY.fullmatch(currency):
        raise ValueError(f"currency must be 3 upper-case letters (ISO 4217), got {currency!r}")
    return _MINOR_DIGITS.get(currency, 2)


def basis_points_fee(gross: Money, bps: int) -> Money:
    """The fee of ``bps`` basis points on ``gross``, rounded half up (see module doc)."""
    _check_bps(bps)
    if gross.is_negative():
        raise ValueError("a fee is taken on a non-negative gross amount")
    return Money((gross.amount_minor * bps + BPS_PER_UNIT // 2) // BPS_PER_UNIT, gross.currency)


def split_fee(gross: Money, bps: int) -> tuple[Money, Money]:
    """Split ``gross`` into ``(fee, net)``; ``fee + net == gross`` exactly."""
    fee = basis_points_fee(gross, bps)
    return fee, gross - fee


def apply_discount_bps(price: Money, bps: int) -> Money:
    """``price`` less a discount of ``bps`` basis points (the discount rounds half up)."""
    return price - basis_points_fee(price, bps)


def _check_bps(bps: int) -> None:
    if type(bps) is not int:
        raise TypeError(f"basis points must be an int, got {type(bps).__name__}")
    if not 0 <= bps <= BPS_PER_UNIT:
        raise ValueError(f"basis points must be within 0..{BPS_PER_UNIT}, got {bps}")
