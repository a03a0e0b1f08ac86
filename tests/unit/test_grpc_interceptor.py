"""The Park OS server interceptor builds a method's wrapped handler once and reuses it."""

from __future__ import annotations

import grpc
from park.common.v1.money_pb2 import Money

from parkos.auth import RevocationList, TokenVerifier, generate_signing_key
from parkos.grpc.interceptor import ParkServerInterceptor


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


async def _echo(request: Money, context: object) -> Money:
    return request


def _handler() -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        _echo, request_deserializer=Money.FromString, response_serializer=Money.SerializeToString
    )


async def test_a_methods_wrapped_handler_is_built_once_and_follows_a_new_handler() -> None:
    _, public_pem = generate_signing_key()
    interceptor = ParkServerInterceptor(TokenVerifier(public_pem, revocations=RevocationList()))
    handler, replacement = _handler(), _handler()
    current = {"/park.test.v1.Probe/Echo": handler}

    async def continuation(details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        return current.get(details.method)

    first = await interceptor.intercept_service(continuation, _Details("/park.test.v1.Probe/Echo"))
    again = await interceptor.intercept_service(continuation, _Details("/park.test.v1.Probe/Echo"))
    assert first is again and first is not handler
    assert first.request_deserializer == Money.FromString and first.unary_unary is not _echo
    current["/park.test.v1.Probe/Echo"] = replacement  # a generic handler may hand out a new one
    assert await interceptor.intercept_service(continuation, _Details("/park.test.v1.Probe/Echo")) is not first
    assert await interceptor.intercept_service(continuation, _Details("/park.test.v1.Probe/Nope")) is None
