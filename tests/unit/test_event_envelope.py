"""The event envelope: what producers build and what consumers refuse."""
from __future__ import annotations

import pytest
from park.common.v1.money_pb2 import Money
from park.common.v1.pagination_pb2 import PageRequest

from parkos.events import MalformedEvent, build_envelope, parse_envelope, unpack_payload


def settled(amount: int = 100):
    return build_envelope(Money(amount_minor=amount, currency="CNY"), producer="trades",
                          aggregate_id="ord_1", tenant_id="ten_1", correlation_id="c-1")


def test_an_envelope_round_trips_with_its_payload_and_metadata():
    envelope = parse_envelope(settled().SerializeToString())
    assert envelope.type == "park.common.v1.Money"
    assert (envelope.producer, envelope.aggregate_id, envelope.tenant_id) == ("trades", "ord_1", "ten_1")
    assert envelope.schema_version == 1
    assert unpack_payload(envelope, Money).amount_minor == 100


def test_every_envelope_gets_its_own_time_ordered_event_id():
    first, second = settled(), settled()
    assert first.event_id != second.event_id
    assert first.event_id[14] == "7", "a UUIDv7"


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe garbage", Money(amount_minor=1, currency="CNY").SerializeToString()])
def test_bytes_that_are_not_an_envelope_are_malformed(raw):
    with pytest.raises(MalformedEvent):
        parse_envelope(raw)


def test_a_payload_that_contradicts_the_declared_type_is_malformed():
    envelope = settled()
    envelope.type = "park.trades.v1.TradeSettled"
    with pytest.raises(MalformedEvent):
        parse_envelope(envelope.SerializeToString())


def test_unpacking_as_another_type_is_refused():
    with pytest.raises(MalformedEvent):
        unpack_payload(settled(), PageRequest)


def test_an_event_without_an_aggregate_is_refused_at_build_time():
    with pytest.raises(ValueError):
        build_envelope(Money(amount_minor=1, currency="CNY"), producer="x", aggregate_id="")
