"""Errors the park's domain raises, independent of any transport.

The gRPC layer maps each class to the status of the same name (``code`` holds
the ``grpc.StatusCode`` member name), so domain code never imports grpc.
Messages reach callers: keep them free of secrets, tokens and other tenants'
data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar


class ParkError(Exception):
    """Base of every error Park OS reports to a caller."""

    code: ClassVar[str] = "UNKNOWN"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (e.g. ``price.currency``) and why."""

    field: str
    description: str


class InvalidArgument(ParkError):
    """The request is malformed; ``violations`` says which fields and why."""

    code: ClassVar[str] = "INVALID_ARGUMENT"

    def __init__(self, message: str, violations: Sequence[FieldViolation] = ()) -> None:
        super().__init__(message)
        self.violations: tuple[FieldViolation, ...] = tuple(violations)

    @classmethod
    def for_field(cls, field: str, description: str) -> InvalidArgument:
        """An error about a single field, its description doubling as the message."""
        return cls(f"{field}: {description}", [FieldViolation(field, description)])


class NotFound(ParkError):
    """The object named in the request does not exist (or is not visible)."""

    code: ClassVar[str] = "NOT_FOUND"


class AlreadyExists(ParkError):
    """The object the request would create exists already."""

    code: ClassVar[str] = "ALREADY_EXISTS"


class FailedPrecondition(ParkError):
    """The object is not in a state that allows the request (e.g. a closed loan)."""

    code: ClassVar[str] = "FAILED_PRECONDITION"


class PermissionDenied(ParkError):
    """The caller is known but may not do this."""

    code: ClassVar[str] = "PERMISSION_DENIED"


class Unauthenticated(ParkError):
    """The caller could not be identified (missing, bad, expired or revoked token)."""

    code: ClassVar[str] = "UNAUTHENTICATED"


class Aborted(ParkError):
    """A concurrent change won; the caller may retry the whole operation."""

    code: ClassVar[str] = "ABORTED"


class Unavailable(ParkError):
    """The service cannot answer yet (e.g. still loading what it needs); retry shortly."""

    code: ClassVar[str] = "UNAVAILABLE"


class ResourceExhausted(ParkError):
    """A quota, credit line or capacity is used up."""

    code: ClassVar[str] = "RESOURCE_EXHAUSTED"
