"""Exceptions -> gRPC statuses, with ``google.rpc`` rich details where they help the caller.

The mapping knows Park OS's error taxonomy (``parkos.errors``) and a few infrastructure
exceptions by class name, never a service's domain: services raise the taxonomy.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from parkos.errors import (
    AlreadyExists,
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ParkError,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)

INTERNAL_MESSAGE = "internal error"
UNAVAILABLE_MESSAGE = "temporarily unavailable, retry later"
DUPLICATE_MESSAGE = "resource already exists"

_PARK_CODES: dict[type[ParkError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    Aborted: grpc.StatusCode.ABORTED,
    ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
}

# pymongo is matched by class name so the gRPC layer never imports a database driver.
# A unique-index violation means the caller asked to create something that exists; a
# lost connection or failed server selection is transient and worth a retry.
_PYMONGO_CODES: dict[str, tuple[grpc.StatusCode, str]] = {
    "DuplicateKeyError": (grpc.StatusCode.ALREADY_EXISTS, DUPLICATE_MESSAGE),
    "ConnectionFailure": (grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_MESSAGE),
}


def code_for_exception(exc: BaseException) -> grpc.StatusCode:
    """The status code an exception maps to; INTERNAL for anything unrecognised."""
    return _classify(exc)[0]


def status_for_exception(exc: BaseException) -> grpc.Status:
    """A ``grpc.Status`` for ``context.abort_with_status``: code, safe message, rich details."""
    return rpc_status.to_status(rich_status_for_exception(exc))


def rich_status_for_exception(exc: BaseException) -> status_pb2.Status:
    """The ``google.rpc.Status`` for an exception; messages of unknown errors are never sent."""
    code, message = _classify(exc)
    status = status_pb2.Status(code=code.value[0], message=message)
    if isinstance(exc, InvalidArgument) and exc.violations:
        status.details.append(_packed(_bad_request(exc)))
    return status


def is_server_fault(code: grpc.StatusCode) -> bool:
    """Whether a status means the server failed (worth an error log) rather than the caller."""
    return code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS)


def _classify(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    for cls in type(exc).__mro__:
        if cls in _PARK_CODES:
            return _PARK_CODES[cls], exc.message  # type: ignore[attr-defined]
        if cls.__module__.startswith("pymongo") and cls.__name__ in _PYMONGO_CODES:
            return _PYMONGO_CODES[cls.__name__]
    return grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE


def _bad_request(exc: InvalidArgument) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in exc.violations
        ]
    )


def _packed(message: error_details_pb2.BadRequest) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
