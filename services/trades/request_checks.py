"""Checks of request messages that come before any domain rule.

Unknown fields (a client built against another version of the API, or a hand-made
request) are refused rather than silently dropped; ids must have the right form; enum
values must be known.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar

from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet
from parkos.errors import FieldViolation, InvalidArgument
from parkos.ids import is_valid_id

from services.trades import ids

SEARCH_TEXT_MAX = 100
SEARCH_WORDS_MAX = 8

E = TypeVar("E")


def refuse_unknown_fields(message: Message) -> None:
    """INVALID_ARGUMENT naming every field of ``message`` (at any depth) this server does not know."""
    violations = list(_unknown_fields(message, ""))
    if violations:
        raise InvalidArgument("the request has fields this server does not know", violations)


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
        raise InvalidArgument.for_field(field, f"is not a {prefix}_ id")
    return value


def _unknown_fields(message: Message, path: str) -> Iterator[FieldViolation]:
    for unknown in UnknownFieldSet(message):
        yield FieldViolation(f"{path}#{unknown.field_number}", f"unknown field number {unknown.field_number}")
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.is_repeated and not field.message_type.GetOptions().map_entry:
            for index, item in enumerate(value):
                yield from _unknown_fields(item, f"{path}{field.name}[{index}].")
        elif not field.is_repeated:
            yield from _unknown_fields(value, f"{path}{field.name}.")
