"""What a call leaves behind: its correlation id (bound in the handler and echoed), one
access-log line without the token, and Prometheus counts by method and code."""

from __future__ import annotations

import grpc
import structlog
from park.common.v1.money_pb2 import Money
from prometheus_client import REGISTRY

from parkos.grpc import CORRELATION_ID_KEY
from parkos.grpc.client import field_violations
from tests.integration.grpc_server.probe_service import SERVICE, Park, failure, stub


async def test_correlation_id_is_bound_in_the_handler_and_echoed(park: Park) -> None:
    async with park.channel(token=park.token(), correlation_id="req-42.a:b") as channel:
        call = stub(channel, "unary_unary", "Whoami")(Money(currency="given"))
        await call
        assert dict(await call.trailing_metadata())[CORRELATION_ID_KEY] == "req-42.a:b"
    assert park.probe.correlation_ids["given"] == "req-42.a:b"


async def test_a_failed_call_echoes_its_correlation_id_next_to_its_details(park: Park) -> None:
    async with park.channel(token=park.token(), correlation_id="req-43") as channel:
        error = await failure(stub(channel, "unary_unary", "Invalid")(Money()))
        denied = await failure(stub(channel, "unary_unary", "AdminOnly")(Money()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(error.trailing_metadata())[CORRELATION_ID_KEY] == "req-43"
    assert field_violations(error)  # the rich details are still there
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert dict(denied.trailing_metadata())[CORRELATION_ID_KEY] == "req-43"


async def test_a_response_stream_echoes_its_correlation_id_before_its_first_message(park: Park) -> None:
    async with park.channel(token=park.token(), correlation_id="req-44") as channel:
        call = stub(channel, "unary_stream", "Forever")(Money(amount_minor=1))
        assert dict(await call.initial_metadata())[CORRELATION_ID_KEY] == "req-44"
        call.cancel()


async def test_missing_or_unsafe_correlation_id_is_replaced(park: Park) -> None:
    cases = ((None, "none"), ("id with spaces=injected", "spaces"), ("x" * 200, "too-long"))
    for sent, tag in cases:
        async with park.channel(token=park.token(), correlation_id=sent) as channel:
            call = stub(channel, "unary_unary", "Whoami")(Money(currency=tag))
            await call
            echoed = dict(await call.trailing_metadata())[CORRELATION_ID_KEY]
        assert echoed and echoed != sent
        assert park.probe.correlation_ids[tag] == echoed


async def test_access_log_has_one_line_per_call_without_the_token(park: Park) -> None:
    token = park.token()
    with structlog.testing.capture_logs() as logs:
        async with park.channel(token=token) as channel:
            await stub(channel, "unary_unary", "Whoami")(Money())
        async with park.channel() as channel:
            await failure(stub(channel, "unary_unary", "Whoami")(Money()))
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
        await stub(channel, "unary_unary", "Whoami")(Money())
        await stub(channel, "unary_unary", "Whoami")(Money())
    async with park.channel() as channel:
        await failure(stub(channel, "unary_unary", "Whoami")(Money()))
    assert sample("parkos_rpc_total", "OK") == before["OK"] + 2
    assert sample("parkos_rpc_total", "UNAUTHENTICATED") == before["UNAUTHENTICATED"] + 1
    assert sample("parkos_rpc_duration_seconds_count", "OK") == histogram_before + 2
