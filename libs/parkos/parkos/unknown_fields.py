"""Refusing request fields this server does not know, instead of silently dropping them."""
from __future__ import annotations

from collections.abc import Iterator

from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

from parkos.errors import FieldViolation, InvalidArgument


def refuse_unknown_fields(message: Message) -> None:
    """INVALID_ARGUMENT naming every field of ``message`` (at any depth) this server does not know."""
    violations = list(_unknown_fields(message, ""))
    if violations:
        raise InvalidArgument("the request has fields this server does not know", violations)


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
