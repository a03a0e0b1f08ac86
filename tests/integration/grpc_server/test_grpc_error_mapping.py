"""Exceptions become precise statuses: field violations travel as rich details, and
nothing of an unexpected error leaks to the caller; the blocking client decodes them too."""

from __future__ import annotations

import asyncio

import grpc
from park.common.v1.money_pb2 import Money

from parkos.auth import Role
from parkos.grpc import field_violations, open_sync_channel
from tests.integration.grpc_server.probe_service import Park, failure, stub


async def test_invalid_argument_carries_every_field_violation(park: Park) -> None:
    async with park.channel(token=park.token()) as channel:
        error = await failure(stub(channel, "unary_unary", "Invalid")(Money()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "bad money"
    assert field_violations(error) == [("amount_minor", "must be positive"), ("currency", "unknown code")]


async def test_unexpected_exception_is_internal_and_leaks_nothing(park: Park) -> None:
    async with park.channel(token=park.token()) as channel:
        error = await failure(stub(channel, "unary_unary", "Crash")(Money()))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "internal error"
    leaked = [error.details(), repr(error.trailing_metadata()), repr(error.initial_metadata())]
    assert not any("hunter2" in text or "ValueError" in text for text in leaked)


async def test_duplicate_key_is_already_exists(park: Park) -> None:
    async with park.channel(token=park.token()) as channel:
        error = await failure(stub(channel, "unary_unary", "Duplicate")(Money()))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "email" not in error.details()


async def test_sync_channel_authenticates_and_decodes_violations(park: Park) -> None:
    def call_blocking() -> tuple[Money, list[tuple[str, str]]]:
        with open_sync_channel(park.target, token=park.token(Role.ADMIN), correlation_id="cli-1") as channel:
            reply = stub(channel, "unary_unary", "Whoami")(Money(currency="sync"))
            streamed = list(stub(channel, "unary_stream", "Count")(Money(amount_minor=2)))
            assert [m.amount_minor for m in streamed] == [0, 1]
            try:
                stub(channel, "unary_unary", "Invalid")(Money())
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
                return reply, field_violations(error)
        raise AssertionError("Invalid did not fail")

    # Blocking calls run in a thread: the server shares this test's event loop.
    reply, violations = await asyncio.to_thread(call_blocking)
    assert reply.currency == "admin"
    assert park.probe.correlation_ids["sync"] == "cli-1"
    assert [name for name, _ in violations] == ["amount_minor", "currency"]
