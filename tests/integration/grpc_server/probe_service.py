"""The probe service the gRPC bootstrap tests call, and the helpers they share.

The service is built without a proto file (a generic handler over
``park.common.v1.Money``), so the tests exercise only the shared layer: health,
reflection, authentication, error mapping, correlation ids, access logs and metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from park.common.v1.money_pb2 import Money
from pymongo.errors import DuplicateKeyError

from parkos.auth import RevocationList, Role, TokenIssuer, require_role
from parkos.errors import FieldViolation, InvalidArgument
from parkos.grpc import GrpcServer, current_principal, open_channel, optional_principal
from parkos.ids import new_id
from parkos.logging import current_correlation_id

SERVICE = "park.test.v1.Probe"
SECRET = "mongodb://admin:hunter2@db.internal"


@dataclass
class Probe:
    """Handlers for every arity; records what it saw so tests can look inside the call."""

    correlation_ids: dict[str, str | None] = field(default_factory=dict)

    async def whoami(self, request: Money, context: grpc.aio.ServicerContext) -> Money:
        self.correlation_ids[request.currency] = current_correlation_id()
        return Money(amount_minor=request.amount_minor, currency=str(current_principal().role))

    async def admin_only(self, request: Money, context: grpc.aio.ServicerContext) -> Money:
        require_role(current_principal(), Role.ADMIN)
        return request

    async def invalid(self, request: Money, context: grpc.aio.ServicerContext) -> Money:
        raise InvalidArgument(
            "bad money",
            [FieldViolation("amount_minor", "must be positive"), FieldViolation("currency", "unknown code")],
        )

    async def crash(self, request: Money, context: grpc.aio.ServicerContext) -> Money:
        raise ValueError(f"cannot reach {SECRET}")

    async def duplicate(self, request: Money, context: grpc.aio.ServicerContext) -> Money:
        raise DuplicateKeyError("E11000 duplicate key error collection: tenants index: email_1 dup key")

    async def public(self, request: Money, context: grpc.aio.ServicerContext) -> Money:
        principal = optional_principal()
        return Money(currency=str(principal.role) if principal else "anonymous")

    async def count(self, request: Money, context: grpc.aio.ServicerContext) -> AsyncIterator[Money]:
        current_principal()
        for i in range(request.amount_minor):
            yield Money(amount_minor=i, currency="CNY")
        if request.currency == "BAD":
            raise InvalidArgument.for_field("currency", "unknown code")

    async def count_writer(self, request: Money, context: grpc.aio.ServicerContext) -> None:
        for i in range(request.amount_minor):
            await context.write(Money(amount_minor=i, currency=str(current_principal().role)))

    async def forever(self, request: Money, context: grpc.aio.ServicerContext) -> AsyncIterator[Money]:
        tick = 0
        while True:
            yield Money(amount_minor=tick, currency="CNY")
            tick += 1
            await asyncio.sleep(0.01)

    async def total(self, requests: AsyncIterator[Money], context: grpc.aio.ServicerContext) -> Money:
        amount = 0
        async for money in requests:
            if money.currency != "CNY":
                raise InvalidArgument.for_field("currency", "mixed currencies")
            amount += money.amount_minor
        return Money(amount_minor=amount, currency="CNY")

    async def echo(self, requests: AsyncIterator[Money], context: grpc.aio.ServicerContext) -> AsyncIterator[Money]:
        async for money in requests:
            yield Money(amount_minor=money.amount_minor, currency=current_principal().subject)

    def generic_handler(self) -> grpc.GenericRpcHandler:
        serde = {"request_deserializer": Money.FromString, "response_serializer": Money.SerializeToString}
        unary = {
            "Whoami": self.whoami,
            "AdminOnly": self.admin_only,
            "Invalid": self.invalid,
            "Crash": self.crash,
            "Duplicate": self.duplicate,
            "Public": self.public,
        }
        handlers = {name: grpc.unary_unary_rpc_method_handler(fn, **serde) for name, fn in unary.items()}
        handlers["Count"] = grpc.unary_stream_rpc_method_handler(self.count, **serde)
        handlers["Forever"] = grpc.unary_stream_rpc_method_handler(self.forever, **serde)
        handlers["CountWriter"] = grpc.unary_stream_rpc_method_handler(self.count_writer, **serde)
        handlers["Total"] = grpc.stream_unary_rpc_method_handler(self.total, **serde)
        handlers["Echo"] = grpc.stream_stream_rpc_method_handler(self.echo, **serde)
        return grpc.method_handlers_generic_handler(SERVICE, handlers)


def stub(channel: grpc.aio.Channel | grpc.Channel, kind: str, method: str):  # type: ignore[no-untyped-def]
    """A call object of the probe's ``method``; ``kind`` is the channel's factory (``unary_unary``, ...)."""
    factory = getattr(channel, kind)
    return factory(f"/{SERVICE}/{method}", request_serializer=Money.SerializeToString,
                   response_deserializer=Money.FromString)


@dataclass
class Park:
    """A running probe server, and the keys to call it with."""

    server: GrpcServer
    probe: Probe
    issuer: TokenIssuer
    revocations: RevocationList
    private_pem: bytes

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def token(self, role: Role = Role.TENANT, scopes: tuple[str, ...] = ()) -> str:
        bindings = {Role.TENANT: {"tenant_id": new_id("ten")}, Role.BANK: {"bank_id": "bank-1"}}
        return self.issuer.issue(role, f"{role}-user", ttl=timedelta(minutes=5), scopes=scopes,
                                 **bindings.get(role, {})).token

    @asynccontextmanager
    async def channel(self, token: str | None = None, correlation_id: str | None = None) -> AsyncIterator[grpc.aio.Channel]:
        channel = open_channel(self.target, token=token, correlation_id=correlation_id)
        try:
            yield channel
        finally:
            await channel.close()


async def health(target: str, service: str = "") -> int:
    """The health status ``target`` reports for ``service`` ("" is the server as a whole)."""
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
        return reply.status


async def failure(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    """The error ``call`` fails with (the test fails if it succeeds)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def collect(call) -> list[Money]:  # type: ignore[no-untyped-def]
    """Every message of a response stream."""
    return [message async for message in call]


async def money_stream(*amounts: tuple[int, str]) -> AsyncIterator[Money]:
    """A request stream of Money messages."""
    for amount, currency in amounts:
        yield Money(amount_minor=amount, currency=currency)
