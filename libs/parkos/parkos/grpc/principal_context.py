"""The authenticated caller of the current RPC, carried in a context variable.

The authentication interceptor sets it; servicers read it with ``current_principal()``.
grpc.aio runs every RPC in its own asyncio task, whose context copy dies with it, so a
principal never leaks from one call into another.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from parkos.errors import Unauthenticated

if TYPE_CHECKING:
    from parkos.auth import Principal

_principal: ContextVar[Principal | None] = ContextVar("parkos_principal", default=None)


def current_principal() -> Principal:
    """The caller of the current RPC; raises ``Unauthenticated`` when the call has none."""
    principal = _principal.get()
    if principal is None:
        raise Unauthenticated("authentication required")
    return principal


def optional_principal() -> Principal | None:
    """The caller of the current RPC, or None for an anonymous call to a public method."""
    return _principal.get()


def set_principal(principal: Principal | None) -> Token[Principal | None]:
    """Make ``principal`` the caller for the rest of the current context; returns a reset token."""
    return _principal.set(principal)


@contextmanager
def use_principal(principal: Principal | None) -> Iterator[None]:
    """Run a block as ``principal`` (servicer unit tests, jobs acting for a caller)."""
    token = _principal.set(principal)
    try:
        yield
    finally:
        _principal.reset(token)
