"""Authentication of calls: ``authorization: Bearer <token>`` -> a verified ``Principal``.

Tokens are verified locally (signature, expiry, revocation) by the ``TokenVerifier``
passed in. Health and reflection are never authenticated, so probes and ``grpcurl``
work; ``public_methods`` accept anonymous callers but still verify a token that is sent.
The principal's role and subject (never the token) are bound into the log context.
``interceptor.ParkServerInterceptor`` runs this inside its error mapping, so a refusal
becomes UNAUTHENTICATED and is access-logged with that code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import structlog
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection

from parkos.auth.scopes import require_scope
from parkos.errors import Unauthenticated, Unavailable
from parkos.grpc.metadata import normalize_method, service_of
from parkos.grpc.principal_context import set_principal
from parkos.logging import get_logger

if TYPE_CHECKING:
    from parkos.auth import Principal, TokenVerifier

UNAUTHENTICATED_SERVICES = frozenset(
    {health.SERVICE_NAME, reflection.SERVICE_NAME, "grpc.reflection.v1.ServerReflection"}
)


class Authenticator:
    """Verifies a call's bearer token and makes its ``Principal`` the call's principal."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        public_methods: Iterable[str] = (),
        method_scopes: Mapping[str, str] | None = None,
        logger: Any | None = None,
    ) -> None:
        self._verifier = verifier
        self._public = frozenset(normalize_method(m) for m in public_methods)
        self._method_scopes = {normalize_method(m): scope for m, scope in (method_scopes or {}).items()}
        self._logger = logger if logger is not None else get_logger(__name__)

    def checks(self, method: str) -> bool:
        """Whether calls of ``method`` are authenticated at all (not health nor reflection)."""
        return service_of(method) not in UNAUTHENTICATED_SERVICES

    def allows_anonymous(self, method: str) -> bool:
        """Whether ``method`` is public: callers without a token are let in."""
        return method in self._public

    def scope_of(self, method: str) -> str | None:
        """The scope a scoped token needs to call ``method`` (None: no scoped token may)."""
        return self._method_scopes.get(method)

    def authenticate(self, authorization: Sequence[str], anonymous_allowed: bool, method: str,
                     scope: str | None) -> None:
        """Check the call's authorization values and, for a scoped token, that it holds ``scope``
        (what ``method`` needs); raises ``Unauthenticated`` or ``PermissionDenied`` when refused."""
        token = bearer_token(authorization)
        if token is None:
            if not anonymous_allowed:
                raise Unauthenticated("missing bearer token")
            return
        principal = self._verify(token)
        _adopt(principal)  # first: a call refused for its scope is logged with who made it
        if not anonymous_allowed:  # what anyone may call, a scoped token may too
            require_scope(principal, scope, method)

    def _verify(self, token: str) -> Principal:
        try:
            return self._verifier.verify(token)
        except (Unauthenticated, Unavailable):  # Unavailable: revocations still loading, retry
            raise
        except Exception:
            # Fail closed: a verifier bug must not let a call through, nor leak details.
            self._logger.exception("token_verification_failed")
            raise Unauthenticated("invalid token") from None


def bearer_token(values: Sequence[str]) -> str | None:
    """The token of a single ``Bearer`` authorization value; None when there is none.

    Raises ``Unauthenticated`` for a malformed header or several of them, rather than
    guessing which one the caller meant.
    """
    if not values:
        return None
    if len(values) > 1:
        raise Unauthenticated("more than one authorization header")
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("authorization must be 'Bearer <token>'")
    return token


def _adopt(principal: Principal) -> None:
    # No reset afterwards on purpose: each RPC runs in its own task whose context dies with
    # it, and the access log, which runs outside the authentication, reports the caller's role.
    set_principal(principal)
    if principal.tenant_id:
        structlog.contextvars.bind_contextvars(
            role=str(principal.role), subject=principal.subject, tenant_id=principal.tenant_id
        )
    else:
        structlog.contextvars.bind_contextvars(role=str(principal.role), subject=principal.subject)
