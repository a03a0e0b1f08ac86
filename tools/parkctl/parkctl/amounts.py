"""Amounts of money typed on the command line: read exactly, and only what the park can record."""

from __future__ import annotations

from parkos.money import Money

from parkctl.output import fail

# park.common.v1.Money carries its amount as an int64 count of minor units.
_INT64 = range(-(2**63), 2**63)


def money_arg(amount: str, currency: str, name: str) -> dict[str, int | str]:
    """``12000.00`` in ``currency`` -> the fields of a Money message, exactly (no float on the way).

    Anything else is a usage error naming ``name``, the option or argument it was given as.
    """
    try:
        value = Money.parse(f"{amount} {currency}")
    except ValueError as error:
        fail(f"{name}: {error}")
    if value.amount_minor not in _INT64:
        smallest, largest = Money(_INT64.start, value.currency), Money(_INT64.stop - 1, value.currency)
        fail(f"{name}: {amount} {currency} is out of range ({smallest} .. {largest})")
    return {"amount_minor": value.amount_minor, "currency": value.currency}
