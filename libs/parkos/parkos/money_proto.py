"""Conversion between ``parkos.money.Money`` and ``park.common.v1.Money``."""

from __future__ import annotations

from park.common.v1 import money_pb2

from parkos.errors import InvalidArgument
from parkos.money import Money

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def money_to_proto(m: Money) -> money_pb2.Money:
    """The protobuf form of ``m``; ValueError if it does not fit the int64 field."""
    if not _INT64_MIN <= m.amount_minor <= _INT64_MAX:
        raise ValueError("money amount does not fit in int64 minor units")
    return money_pb2.Money(amount_minor=m.amount_minor, currency=m.currency)


def money_from_proto(msg: money_pb2.Money | None, field: str = "amount") -> Money:
    """The ``Money`` in request field ``field``; InvalidArgument names ``<field>.currency``."""
    if msg is None:
        raise InvalidArgument.for_field(field, "is required")
    currency = msg.currency
    if not currency:
        raise InvalidArgument.for_field(f"{field}.currency", "is required")
    try:
        return Money(msg.amount_minor, currency)
    except ValueError:
        raise InvalidArgument.for_field(
            f"{field}.currency", "must be 3 upper-case letters (ISO 4217)"
        ) from None
