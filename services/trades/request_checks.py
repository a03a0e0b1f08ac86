"""Checks of request messages that come before any domain rule.

Unknown fields (a client built against another version of the API, or a hand-made
request) are refused rather than silently dropped; ids must have the right form; enum
values must be known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from parkos.errors import InvalidArgument
from parkos.unknown_fields import refuse_unknown_fields  # noqa: F401  (re-exported for authorization.py)
from parkos.ids import is_valid_id
from parkos.wording import with_article

from services.trades import ids

SEARCH_TEXT_MAX = 100
SEARCH_WORDS_MAX = 8

E = TypeVar("E")




def tenant_id(value: str, field: str = "tenant_id") -> str:
    return _id(value, ids.TENANT, field)


def product_id(value: str, field: str = "product_id") -> str:
    return _id(value, ids.PRODUCT, field)


def order_id(value: str, field: str = "order_id") -> str:
    return _id(value, ids.ORDER, field)


def pool_id(value: str, field: str = "pool_id") -> str:
    return _id(value, ids.POOL, field)


def optional_tenant_id(value: str, field: str) -> str:
    """A tenant id when given, else empty."""
    return tenant_id(value, field) if value else ""


def enum_value(value: int, known: Mapping[int, E], field: str, *, required: bool = False) -> E | None:
    """The domain value of a proto enum; None for UNSPECIFIED (INVALID_ARGUMENT when required or unknown)."""
    if value == 0:
        if required:
            raise InvalidArgument.for_field(field, "is required")
        return None
    if value not in known:
        raise InvalidArgument.for_field(field, "is not a known value")
    return known[value]


def search_words(text: str) -> tuple[str, ...]:
    """The case-folded words of a catalog search; INVALID_ARGUMENT when too long."""
    if len(text) > SEARCH_TEXT_MAX:
        raise InvalidArgument.for_field("text", f"must be at most {SEARCH_TEXT_MAX} characters")
    words = tuple(dict.fromkeys(text.casefold().split()))
    if len(words) > SEARCH_WORDS_MAX:
        raise InvalidArgument.for_field("text", f"at most {SEARCH_WORDS_MAX} words")
    return words


def _id(value: str, prefix: str, field: str) -> str:
    if not value:
        raise InvalidArgument.for_field(field, "is required")
    if not is_valid_id(value, prefix):
        raise InvalidArgument.for_field(field, f"is not {with_article(prefix + '_')} id")
    return value


