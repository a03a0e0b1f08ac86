"""Identifiers: prefixed, time-ordered object ids and UUIDv7 event ids.

An object id reads ``ten_01JD8X...``: a 2-5 letter lower-case prefix naming
the kind of object, ``_``, then the 26-character Crockford base32 form of a
UUIDv7.  Base32 keeps the UUID's big-endian bit order and the alphabet is in
ASCII order, so sorting ids as strings sorts them by creation time; that makes
them good Kafka keys and Mongo ``_id`` values (new documents land at the
right-hand edge of the index).
"""

from __future__ import annotations

import re

import uuid_utils

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ENCODED_LENGTH = 26  # ceil(128 / 5)
_PREFIX = re.compile(r"[a-z]{2,5}")
# 128 bits in 130: the leading character carries only 3 bits, hence 0-7.
_BODY = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_UUID_VERSION_7 = 7
_UUID_VARIANT_RFC = 0b10


def new_id(prefix: str) -> str:
    """A new id of the kind ``prefix`` (2-5 lower-case letters), e.g. ``ten_01JD...``."""
    _check_prefix(prefix)
    return f"{prefix}_{_encode(uuid_utils.uuid7().int)}"


def is_valid_id(value: str, prefix: str) -> bool:
    """Whether ``value`` is a well-formed id of kind ``prefix`` (canonical upper case)."""
    _check_prefix(prefix)
    if not isinstance(value, str):
        return False
    kind, sep, body = value.partition("_")
    if kind != prefix or sep != "_" or not _BODY.fullmatch(body):
        return False
    return _is_uuid7(_decode(body))


def new_event_id() -> str:
    """A new event id: a canonical UUIDv7 string, as the event envelope carries."""
    return str(uuid_utils.uuid7())


def new_correlation_id() -> str:
    """A new correlation id for a request chain (a UUIDv7 string, so logs sort by time)."""
    return str(uuid_utils.uuid7())


def _check_prefix(prefix: str) -> None:
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValueError(f"id prefix must be 2-5 lower-case letters, got {prefix!r}")


def _encode(value: int) -> str:
    chars = []
    for _ in range(_ENCODED_LENGTH):
        chars.append(_CROCKFORD[value & 0x1F])
        value >>= 5
    return "".join(reversed(chars))


def _decode(body: str) -> int:
    value = 0
    for char in body:
        value = (value << 5) | _CROCKFORD.index(char)
    return value


def _is_uuid7(value: int) -> bool:
    version = (value >> 76) & 0xF
    variant = (value >> 62) & 0b11
    return version == _UUID_VERSION_7 and variant == _UUID_VARIANT_RFC
