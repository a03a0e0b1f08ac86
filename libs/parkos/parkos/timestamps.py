"""Times a caller sends (google.protobuf.Timestamp fields), read without trusting them.

``Timestamp.ToDatetime`` raises ValueError for seconds outside years 1-9999 or nanos
outside [0, 1e9): unchecked, a request carrying one becomes INTERNAL instead of the
caller's own INVALID_ARGUMENT.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message

from parkos.errors import InvalidArgument


def requested_time(message: Message, field: str) -> datetime | None:
    """``message.<field>`` as an aware UTC datetime, None when unset; INVALID_ARGUMENT naming it when out of range."""
    if not message.HasField(field):
        return None
    try:
        return getattr(message, field).ToDatetime(tzinfo=UTC)
    except ValueError:
        raise InvalidArgument.for_field(field, "is not a valid time (years 1-9999, nanos 0-999,999,999)") from None
