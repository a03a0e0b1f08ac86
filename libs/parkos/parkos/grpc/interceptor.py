"""The one server interceptor of Park OS: correlation id, access log, error mapping, authentication.

Every call goes through the four steps in this order (outermost first):

1. correlation (``correlation``): bind the caller's ``x-correlation-id`` or a new one, and
   echo it in the trailing metadata (also as initial metadata on response streams);
2. access log (``access_log``): time the call and, however it ends, write one line and
   one metric observation with its final status;
3. error mapping (``errors_interceptor``): an exception becomes the status it maps to, so
   the access log sees that status;
4. authentication (``authentication``): verify the bearer token and make its principal
   the call's principal, except for health and reflection.

They are one interceptor, not four: grpc.aio awaits each interceptor's
``intercept_service`` on every call, and each step used to build a fresh wrapped handler
and enter its own async context manager per call. Here a wrapped handler is built once
per method and reused, and a call runs the four steps inline in one coroutine frame.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import grpc

from parkos.grpc.access_log import AccessLog
from parkos.grpc.authentication import Authenticator
from parkos.grpc.correlation import correlate, echoed
from parkos.grpc.errors_interceptor import abort_for
from parkos.grpc.handler_wrapping import Behaviour, Runner, wrap_handler
from parkos.grpc.metadata import correlation_and_authorization
from parkos.logging import get_logger

if TYPE_CHECKING:
    from parkos.auth import TokenVerifier

# Handlers come from the server's registry, so this bounds nothing in practice; it only
# keeps a generic handler that makes a new handler per method name from growing the cache.
_MAX_CACHED_METHODS = 4096

_OK = grpc.StatusCode.OK
_UNKNOWN = grpc.StatusCode.UNKNOWN
_CANCELLED = grpc.StatusCode.CANCELLED


class ParkServerInterceptor(grpc.aio.ServerInterceptor):
    """Correlation, access log, error mapping and authentication for every call (see module doc)."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        public_methods: Iterable[str] = (),
        method_scopes: Mapping[str, str] | None = None,
        logger: Any | None = None,
    ) -> None:
        # logger None: each step logs under its own module's name, as when they were separate.
        self._access_log = AccessLog(logger)
        self._errors_logger = logger if logger is not None else get_logger("parkos.grpc.errors_interceptor")
        self._authenticator = Authenticator(verifier, public_methods=public_methods, method_scopes=method_scopes,
                                            logger=logger)
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler | None]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None  # unknown method: grpc answers UNIMPLEMENTED
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = wrap_handler(handler, self._runner(method, streaming=handler.response_streaming))
        if len(self._wrapped) < _MAX_CACHED_METHODS or method in self._wrapped:
            self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _runner(self, method: str, *, streaming: bool) -> Runner:
        access_log, errors_logger, authenticator = self._access_log, self._errors_logger, self._authenticator
        checks = authenticator.checks(method)
        anonymous_allowed = authenticator.allows_anonymous(method)
        scope = authenticator.scope_of(method)

        async def run(behaviour: Behaviour, request: Any, context: grpc.aio.ServicerContext) -> Any:
            incoming, authorization = correlation_and_authorization(context.invocation_metadata())
            correlation_id = await correlate(incoming, context, streaming=streaming)
            started = time.perf_counter()
            code = _UNKNOWN
            try:
                try:
                    if checks:
                        authenticator.authenticate(authorization, anonymous_allowed, method, scope)
                    result = await behaviour(request, context)
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:
                    await abort_for(errors_logger, method, context, exc, echoed(correlation_id))
                code = context.code() or _OK
                return result
            except asyncio.CancelledError:
                code = _CANCELLED
                raise
            except BaseException:
                # An abort (ours or the handler's) has already recorded its code on the context.
                code = context.code() or _UNKNOWN
                raise
            finally:
                access_log.record(method, code, time.perf_counter() - started, context)

        return run
