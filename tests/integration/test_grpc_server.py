"""The gRPC bootstrap end to end: a real grpc.aio server on loopback, real client channels.

The service under test is built without a proto file (a generic handler over
``park.common.v1.Money``), so these tests exercise only the shared layer: health,
reflection, authentication, error mapping, correlation ids, access logs and metrics.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from park.common.v1.money_pb2 import Money
from prometheus_client import REGISTRY
from pymongo.errors import DuplicateKeyError

from parkos.auth import RevocationList, Role, TokenIssuer, TokenVerifier, generate_signing_key, require_role
from parkos.errors import FieldViolation, InvalidArgument
from parkos.grpc import (
    CORRELATION_ID_KEY,
    GrpcServer,
    current_principal,
    install_signal_handlers,
    field_violations,
    open_channel,
    open_sync_channel,
    optional_principal,
)
from parkos.ids import new_id
from parkos.logging import current_correlation_id

SERVICE = "park.test.v1.Probe"
SECRET = "mongodb://admin:hunter2@db.internal"


# --- the probe service -----------------------------------------------------------------


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


def _stub(channel: grpc.aio.Channel | grpc.Channel, kind: str, method: str):  # type: ignore[no-untyped-def]
    factory = getattr(channel, kind)
    return factory(f"/{SERVICE}/{method}", request_serializer=Money.SerializeToString,
                   response_deserializer=Money.FromString)


# --- fixtures ----------------------------------------------------------------------------


@dataclass
class Park:
    server: GrpcServer
    probe: Probe
    issuer: TokenIssuer
    revocations: RevocationList
    private_pem: bytes

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def token(self, role: Role = Role.TENANT) -> str:
        bindings = {Role.TENANT: {"tenant_id": new_id("ten")}, Role.BANK: {"bank_id": "bank-1"}}
        return self.issuer.issue(role, f"{role}-user", ttl=timedelta(minutes=5), **bindings.get(role, {})).token

    @asynccontextmanager
    async def channel(self, token: str | None = None, correlation_id: str | None = None) -> AsyncIterator[grpc.aio.Channel]:
        channel = open_channel(self.target, token=token, correlation_id=correlation_id)
        try:
            yield channel
        finally:
            await channel.close()


@pytest.fixture(scope="module")
async def park() -> AsyncIterator[Park]:
    private_pem, public_pem = generate_signing_key()
    revocations = RevocationList()
    probe = Probe()
    server = GrpcServer(
        verifier=TokenVerifier(public_pem, revocations=revocations),
        port=0,
        public_methods=[f"{SERVICE}/Public"],
    )
    server.add_generic_handler(probe.generic_handler(), SERVICE)
    await server.start()
    yield Park(server, probe, TokenIssuer(private_pem), revocations, private_pem)
    await server.stop(grace=1)


async def _health(target: str, service: str = "") -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
        return reply.status


async def _failure(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


# --- health and reflection --------------------------------------------------------------


async def test_health_is_serving_after_start_and_follows_set_serving(park: Park) -> None:
    assert await _health(park.target) == health_pb2.HealthCheckResponse.SERVING
    assert await _health(park.target, SERVICE) == health_pb2.HealthCheckResponse.SERVING
    await park.server.set_serving(False)
    try:
        assert await _health(park.target) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert await _health(park.target, SERVICE) == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        await park.server.set_serving(True)
    assert await _health(park.target) == health_pb2.HealthCheckResponse.SERVING


async def test_readiness_checks_decide_serving() -> None:
    ready = {"mongo": False}

    async def mongo_reachable() -> bool:
        return ready["mongo"]

    async def broken() -> bool:
        raise ConnectionError("down")

    _, public_pem = generate_signing_key()
    server = GrpcServer(verifier=TokenVerifier(public_pem), readiness_checks={"mongo": mongo_reachable},
                        readiness_interval=60)
    await server.start()
    try:
        target = f"127.0.0.1:{server.port}"
        assert await _health(target) == health_pb2.HealthCheckResponse.NOT_SERVING
        ready["mongo"] = True
        assert await server.refresh_health() is True
        assert await _health(target) == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(grace=0)

    failing = GrpcServer(verifier=TokenVerifier(public_pem), readiness_checks={"broken": broken})
    await failing.start()
    try:
        assert await _health(f"127.0.0.1:{failing.port}") == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        await failing.stop(grace=0)


async def test_reflection_lists_the_services(park: Park) -> None:
    async with grpc.aio.insecure_channel(park.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        replies = [reply async for reply in stub.ServerReflectionInfo(iter([request]))]
    names = {service.name for service in replies[0].list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names


# --- authentication and authorization -----------------------------------------------------


async def test_call_without_token_is_unauthenticated(park: Park) -> None:
    async with park.channel() as channel:
        error = await _failure(_stub(channel, "unary_unary", "Whoami")(Money()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "missing bearer token"


async def test_tampered_token_is_unauthenticated(park: Park) -> None:
    header, payload, signature = park.token().split(".")
    forged_payload = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    for forged in (f"{header}.{forged_payload}.{signature}", f"{header}.{payload}.{signature[::-1]}"):
        async with park.channel(token=forged) as channel:
            error = await _failure(_stub(channel, "unary_unary", "Whoami")(Money()))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_expired_token_is_unauthenticated(park: Park) -> None:
    an_hour_ago = TokenIssuer(park.private_pem, clock=lambda: datetime.now(UTC) - timedelta(hours=1))
    token = an_hour_ago.issue(Role.TENANT, "late", tenant_id=new_id("ten"), ttl=timedelta(minutes=5)).token
    async with park.channel(token=token) as channel:
        error = await _failure(_stub(channel, "unary_unary", "Whoami")(Money()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "token expired"


async def test_revoked_token_is_unauthenticated(park: Park) -> None:
    issued = park.issuer.issue(Role.TENANT, "revoked", tenant_id=new_id("ten"), ttl=timedelta(minutes=5))
    async with park.channel(token=issued.token) as channel:
        whoami = _stub(channel, "unary_unary", "Whoami")
        assert (await whoami(Money())).currency == "tenant"
        park.revocations.revoke(issued.token_id, issued.expires_at)
        error = await _failure(whoami(Money()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "token revoked"


async def test_malformed_authorization_header_is_unauthenticated(park: Park) -> None:
    async with park.channel() as channel:
        call = _stub(channel, "unary_unary", "Whoami")(Money(), metadata=(("authorization", "Basic dXNlcjpwdw=="),))
        error = await _failure(call)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_wrong_role_is_permission_denied(park: Park) -> None:
    async with park.channel(token=park.token(Role.TENANT)) as channel:
        error = await _failure(_stub(channel, "unary_unary", "AdminOnly")(Money()))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    async with park.channel(token=park.token(Role.ADMIN)) as channel:
        assert await _stub(channel, "unary_unary", "AdminOnly")(Money(amount_minor=7)) == Money(amount_minor=7)


async def test_public_method_accepts_anonymous_callers_but_checks_tokens_sent(park: Park) -> None:
    async with park.channel(token=park.token(Role.BANK)) as channel:
        assert (await _stub(channel, "unary_unary", "Public")(Money())).currency == "bank"
    async with park.channel() as channel:  # the bank principal must not leak into this call
        assert (await _stub(channel, "unary_unary", "Public")(Money())).currency == "anonymous"
    async with park.channel(token="not-a-token") as channel:
        error = await _failure(_stub(channel, "unary_unary", "Public")(Money()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


# --- error mapping ---------------------------------------------------------------------


async def test_invalid_argument_carries_every_field_violation(park: Park) -> None:
    async with park.channel(token=park.token()) as channel:
        error = await _failure(_stub(channel, "unary_unary", "Invalid")(Money()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "bad money"
    assert field_violations(error) == [("amount_minor", "must be positive"), ("currency", "unknown code")]


async def test_unexpected_exception_is_internal_and_leaks_nothing(park: Park) -> None:
    async with park.channel(token=park.token()) as channel:
        error = await _failure(_stub(channel, "unary_unary", "Crash")(Money()))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "internal error"
    leaked = [error.details(), repr(error.trailing_metadata()), repr(error.initial_metadata())]
    assert not any("hunter2" in text or "ValueError" in text for text in leaked)


async def test_duplicate_key_is_already_exists(park: Park) -> None:
    async with park.channel(token=park.token()) as channel:
        error = await _failure(_stub(channel, "unary_unary", "Duplicate")(Money()))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "email" not in error.details()


async def test_sync_channel_authenticates_and_decodes_violations(park: Park) -> None:
    def call_blocking() -> tuple[Money, list[tuple[str, str]]]:
        with open_sync_channel(park.target, token=park.token(Role.ADMIN), correlation_id="cli-1") as channel:
            reply = _stub(channel, "unary_unary", "Whoami")(Money(currency="sync"))
            streamed = list(_stub(channel, "unary_stream", "Count")(Money(amount_minor=2)))
            assert [m.amount_minor for m in streamed] == [0, 1]
            try:
                _stub(channel, "unary_unary", "Invalid")(Money())
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
                return reply, field_violations(error)
        raise AssertionError("Invalid did not fail")

    # Blocking calls run in a thread: the server shares this test's event loop.
    reply, violations = await asyncio.to_thread(call_blocking)
    assert reply.currency == "admin"
    assert park.probe.correlation_ids["sync"] == "cli-1"
    assert [name for name, _ in violations] == ["amount_minor", "currency"]


# --- streaming ---------------------------------------------------------------------------


async def _money_stream(*amounts: tuple[int, str]) -> AsyncIterator[Money]:
    for amount, currency in amounts:
        yield Money(amount_minor=amount, currency=currency)


async def test_unary_stream_gets_auth_and_error_mapping(park: Park) -> None:
    async with park.channel() as channel:
        error = await _failure(_collect(_stub(channel, "unary_stream", "Count")(Money(amount_minor=2))))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    async with park.channel(token=park.token()) as channel:
        count = _stub(channel, "unary_stream", "Count")
        assert [m.amount_minor for m in await _collect(count(Money(amount_minor=3)))] == [0, 1, 2]
        received: list[Money] = []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for money in count(Money(amount_minor=2, currency="BAD")):
                received.append(money)
        assert len(received) == 2  # what was sent before the failure still arrives
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(caught.value) == [("currency", "unknown code")]
        written = await _collect(_stub(channel, "unary_stream", "CountWriter")(Money(amount_minor=2)))
        assert [m.currency for m in written] == ["tenant", "tenant"]


# When a server ends a client-streaming call early, a grpc.aio client that is still writing
# may report INTERNAL instead of the server's status (grpc/grpc#36066, open upstream). The
# early-ending cases below therefore write nothing more than the server reads: the server
# side is what is under test, and it is deterministic.


async def test_stream_unary_gets_auth_and_error_mapping(park: Park) -> None:
    async with park.channel() as channel:
        call = _stub(channel, "stream_unary", "Total")()  # no request written yet
        assert await call.code() == grpc.StatusCode.UNAUTHENTICATED
        assert await call.details() == "missing bearer token"
    async with park.channel(token=park.token()) as channel:
        total = _stub(channel, "stream_unary", "Total")
        assert (await total(_money_stream((1, "CNY"), (2, "CNY")))).amount_minor == 3
        call = total()
        await call.write(Money(amount_minor=1, currency="CNY"))
        await call.write(Money(amount_minor=2, currency="USD"))
        error = await _failure(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(error) == [("currency", "mixed currencies")]


async def test_stream_stream_gets_auth(park: Park) -> None:
    async with park.channel() as channel:
        call = _stub(channel, "stream_stream", "Echo")()
        assert await call.code() == grpc.StatusCode.UNAUTHENTICATED
    async with park.channel(token=park.token(Role.ADMIN)) as channel:
        echoed = await _collect(_stub(channel, "stream_stream", "Echo")(_money_stream((1, "CNY"), (2, "CNY"))))
    assert [(m.amount_minor, m.currency) for m in echoed] == [(1, "admin-user"), (2, "admin-user")]


async def test_client_cancelling_a_stream_is_logged_as_cancelled(park: Park) -> None:
    with structlog.testing.capture_logs() as logs:
        async with park.channel(token=park.token()) as channel:
            call = _stub(channel, "unary_stream", "Forever")(Money())
            assert (await call.read()).amount_minor == 0
            assert (await call.read()).amount_minor == 1
            call.cancel()
            for _ in range(200):
                if any(entry.get("method", "").endswith("/Forever") for entry in logs):
                    break
                await asyncio.sleep(0.01)
    lines = [entry for entry in logs if entry["event"] == "rpc"]
    assert [line["code"] for line in lines] == ["CANCELLED"]


async def _collect(call) -> list[Money]:  # type: ignore[no-untyped-def]
    return [message async for message in call]


# --- lifecycle ----------------------------------------------------------------------------


async def test_signal_triggers_the_stop_callback_once() -> None:
    loop = asyncio.get_running_loop()
    stopped: list[str] = []
    done = asyncio.Event()

    async def stop() -> None:
        stopped.append("stop")
        done.set()

    # SIGUSR1 stands in for SIGTERM so the test runner's own handlers stay untouched.
    install_signal_handlers(loop, stop, signals=(signal.SIGUSR1,))
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.wait_for(done.wait(), timeout=5)
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.sleep(0.05)
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
    assert stopped == ["stop"]


# --- correlation, access log, metrics ---------------------------------------------------


async def test_correlation_id_is_bound_in_the_handler_and_echoed(park: Park) -> None:
    async with park.channel(token=park.token(), correlation_id="req-42.a:b") as channel:
        call = _stub(channel, "unary_unary", "Whoami")(Money(currency="given"))
        await call
        assert dict(await call.initial_metadata())[CORRELATION_ID_KEY] == "req-42.a:b"
    assert park.probe.correlation_ids["given"] == "req-42.a:b"


async def test_missing_or_unsafe_correlation_id_is_replaced(park: Park) -> None:
    cases = ((None, "none"), ("id with spaces=injected", "spaces"), ("x" * 200, "too-long"))
    for sent, tag in cases:
        async with park.channel(token=park.token(), correlation_id=sent) as channel:
            call = _stub(channel, "unary_unary", "Whoami")(Money(currency=tag))
            await call
            echoed = dict(await call.initial_metadata())[CORRELATION_ID_KEY]
        assert echoed and echoed != sent
        assert park.probe.correlation_ids[tag] == echoed


async def test_access_log_has_one_line_per_call_without_the_token(park: Park) -> None:
    token = park.token()
    with structlog.testing.capture_logs() as logs:
        async with park.channel(token=token) as channel:
            await _stub(channel, "unary_unary", "Whoami")(Money())
        async with park.channel() as channel:
            await _failure(_stub(channel, "unary_unary", "Whoami")(Money()))
    lines = [entry for entry in logs if entry["event"] == "rpc"]
    assert [(line["code"], line["role"]) for line in lines] == [("OK", "tenant"), ("UNAUTHENTICATED", None)]
    for line in lines:
        assert line["method"] == f"/{SERVICE}/Whoami"
        assert line["duration_ms"] >= 0 and line["peer"]
    assert token not in repr(logs)


async def test_metrics_count_calls_by_method_and_code(park: Park) -> None:
    method = f"/{SERVICE}/Whoami"

    def sample(name: str, code: str) -> float:
        return REGISTRY.get_sample_value(name, {"method": method, "code": code}) or 0.0

    before = {code: sample("parkos_rpc_total", code) for code in ("OK", "UNAUTHENTICATED")}
    histogram_before = sample("parkos_rpc_duration_seconds_count", "OK")
    async with park.channel(token=park.token()) as channel:
        await _stub(channel, "unary_unary", "Whoami")(Money())
        await _stub(channel, "unary_unary", "Whoami")(Money())
    async with park.channel() as channel:
        await _failure(_stub(channel, "unary_unary", "Whoami")(Money()))
    assert sample("parkos_rpc_total", "OK") == before["OK"] + 2
    assert sample("parkos_rpc_total", "UNAUTHENTICATED") == before["UNAUTHENTICATED"] + 1
    assert sample("parkos_rpc_duration_seconds_count", "OK") == histogram_before + 2
