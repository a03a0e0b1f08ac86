"""Records (envelopes -> facts, ledgers <-> protobuf) and the API's ledger view."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from park.analytics.v1 import state_pb2
from park.tenants.v1 import events_pb2 as tenant_events
from park.tenants.v1 import tenants_pb2
from park.trades.v1 import events_pb2 as trade_events
from parkos.events import MalformedEvent, build_envelope, parse_envelope

from services.analytics.domain.facts import FactKind, Placement, Settlement, facts_of_settlement
from services.analytics.domain.ledger import TenantLedger, apply_fact
from services.analytics.domain.valuation import ValuationPolicy
from services.analytics.records import (
    LedgerCodec,
    fact_envelope,
    fact_from_envelope,
    ledger_from_bytes,
    ledger_to_bytes,
    ledger_to_proto,
    split_source_event,
    valuation_envelope,
)
from services.analytics.store import Dimension, ParkView, Window

T0 = 1_767_225_600_000
POLICY = ValuationPolicy()


def placement(tenant_id: str, sub_park: str = "sp-energy", sector: str = "sec-digital-energy") -> trade_events.TenantPlacement:
    return trade_events.TenantPlacement(tenant_id=tenant_id, sub_park_id=sub_park, sector_id=sector)


def trade_settled(order_id: str = "ord_1", gross: int = 10_000, fee: int = 300) -> trade_events.TradeSettled:
    message = trade_events.TradeSettled(
        settlement_id="set_1", order_id=order_id, product_id="prd_1", buyer=placement("ten_b", "sp-ai"),
        seller=placement("ten_s"), gross={"amount_minor": gross, "currency": "CNY"},
        fee={"amount_minor": fee, "currency": "CNY"}, net={"amount_minor": gross - fee, "currency": "CNY"},
        fee_bps=300, classification_level=3,
    )
    message.settled_at.FromMilliseconds(T0)
    return message


def test_a_trade_settled_envelope_becomes_a_sale_and_a_purchase() -> None:
    envelope = build_envelope(trade_settled(), producer="trades", aggregate_id="ord_1")
    sale, purchase = split_source_event(envelope)
    assert (sale.kind, sale.tenant_id, sale.net, sale.fee, sale.gross, sale.occurred_at_ms) == (
        FactKind.SALE, "ten_s", 9_700, 300, 10_000, T0)
    assert (purchase.kind, purchase.tenant_id, purchase.sub_park_id) == (FactKind.PURCHASE, "ten_b", "sp-ai")
    assert sale.source_event_id == envelope.event_id


def test_an_order_refunded_becomes_negative_facts() -> None:
    refund = trade_events.OrderRefunded(
        refund_id="ref_1", order_id="ord_1", settlement_id="set_1", buyer=placement("ten_b"), seller=placement("ten_s"),
        gross={"amount_minor": 100, "currency": "CNY"}, fee={"amount_minor": 3, "currency": "CNY"},
        net={"amount_minor": 97, "currency": "CNY"},
    )
    facts = split_source_event(build_envelope(refund, producer="trades", aggregate_id="ord_1"))
    assert [f.sign for f in facts] == [-1, -1]


def test_tenant_events_become_profile_and_declared_revenue_facts_others_nothing() -> None:
    tenant = tenants_pb2.Tenant(tenant_id="ten_s", sub_park_id="sp-energy", sector_id="sec-x", legal_name="Co",
                                status=tenants_pb2.TENANT_STATUS_ACTIVE, version=4)
    profile = split_source_event(build_envelope(tenant_events.TenantStatusChanged(tenant=tenant), producer="tenants",
                                                aggregate_id="ten_s"))
    assert [(f.kind, f.status, f.profile_version) for f in profile] == [(FactKind.PROFILE, "active", 4)]
    report = tenant_events.RevenueReported(report_id="rev_1", tenant_id="ten_s", period="2025-03",
                                           revenue={"amount_minor": 500, "currency": "CNY"}, version=2)
    [declared] = split_source_event(build_envelope(report, producer="tenants", aggregate_id="ten_s/2025-03"))
    assert (declared.period, declared.revenue_version, declared.declared) == ("2025-03", 2, 500)
    issued = tenant_events.CredentialIssued()
    assert split_source_event(build_envelope(issued, producer="tenants", aggregate_id="crd_1")) == []


def test_a_payload_that_is_not_what_the_envelope_claims_is_malformed() -> None:
    envelope = build_envelope(trade_settled(), producer="trades", aggregate_id="ord_1")
    envelope.payload.value = b"\xff\xff\xff"
    with pytest.raises(MalformedEvent):
        split_source_event(parse_envelope(envelope.SerializeToString()))


def test_facts_travel_in_envelopes_whose_event_id_is_the_fact_id() -> None:
    sale, _ = facts_of_settlement(
        Settlement("e1", "o1", Placement("ten_b"), Placement("ten_s", "sp", "sec"), 100, 1, 99, "CNY", 2, T0)
    )
    envelope = parse_envelope(fact_envelope(sale, source_topic="t", source_partition=1, source_offset=2).SerializeToString())
    assert envelope.event_id == sale.fact_id and envelope.aggregate_id == "ten_s"
    assert fact_from_envelope(envelope) == sale


def _rich_ledger() -> TenantLedger:
    ledger = TenantLedger("ten_s")
    for number in range(5):
        sale, _ = facts_of_settlement(Settlement(
            f"e{number}", f"o{number}", Placement(f"ten_b{number % 2}"), Placement("ten_s", "sp", "sec"),
            1000, 30, 970, "CNY", 2, T0 + number * 3_600_000,
        ))
        ledger = apply_fact(ledger, sale, number, POLICY).ledger  # type: ignore[union-attr]
    return replace(ledger, declared={"2025-01": (2, 5000)})


def test_a_ledger_survives_its_protobuf_round_trip() -> None:
    ledger = _rich_ledger()
    assert ledger.valuation is not None and len(ledger.history) >= 2
    assert ledger_from_bytes(ledger_to_bytes(ledger)) == ledger
    assert LedgerCodec().loads(LedgerCodec().dumps(ledger)) == ledger
    with pytest.raises(MalformedEvent):
        ledger_from_bytes(b"\x0a")


def test_a_ledger_record_parses_to_the_same_protobuf_message_as_a_plain_encoding() -> None:
    ledger = _rich_ledger()
    record = ledger_to_bytes(ledger)  # valuations appended as pre-encoded fields
    parsed = state_pb2.TenantLedger()
    parsed.ParseFromString(record)
    assert parsed == ledger_to_proto(ledger)
    assert ledger_to_bytes(ledger) == record  # the cached encodings give the same bytes again


def test_the_view_decodes_the_valuation_history_only_when_asked() -> None:
    ledger = _rich_ledger()
    record = ledger_to_bytes(ledger)
    view = ParkView()
    summary = ledger_from_bytes(record, history=False)
    assert summary == replace(ledger, history=())
    assert view.apply(summary, record)
    assert view.ledger("ten_s") == ledger and list(view.ledgers()) == [ledger]
    assert view.figures(Dimension.TENANT, "ten_s", Window.ALL_TIME, T0).figures == ledger.figures()  # type: ignore[union-attr]
    stale = replace(ledger, applied_offset=ledger.applied_offset - 1, history=())
    assert not view.apply(stale)
    assert view.ledger("ten_s") == ledger


def test_a_valuation_envelope_is_keyed_by_tenant_with_the_valuations_event_id() -> None:
    ledger = _rich_ledger()
    envelope = valuation_envelope(ledger, ledger.valuation)  # type: ignore[arg-type]
    assert envelope.event_id == ledger.valuation.event_id and envelope.aggregate_id == "ten_s"  # type: ignore[union-attr]


def _ledger(tenant: str, offset: int, net: int, sub_park: str = "sp-a") -> TenantLedger:
    sale, _ = facts_of_settlement(
        Settlement(f"e{tenant}{offset}", "o", Placement("ten_zz"), Placement(tenant, sub_park, "sec-a"), net, 0, net,
                   "CNY", 1, T0)
    )
    return apply_fact(TenantLedger(tenant, applied_offset=offset - 1), sale, offset, POLICY).ledger  # type: ignore[union-attr]


def test_the_view_keeps_the_highest_guard_and_sums_slices() -> None:
    view = ParkView()
    assert view.apply(_ledger("ten_1", 5, 100)) and view.apply(_ledger("ten_2", 3, 50, "sp-b"))
    assert not view.apply(_ledger("ten_1", 4, 999))  # a stale record (lower guard) is ignored
    assert view.apply(_ledger("ten_1", 6, 70, "sp-b"))  # moved sub-park: leaves sp-a, joins sp-b
    park = view.figures(Dimension.PARK, "", Window.ALL_TIME, T0)
    assert park is not None and park.figures.revenue == 120 and park.tenants == 2
    assert view.figures(Dimension.SUB_PARK, "sp-a", Window.ALL_TIME, T0) is None  # nobody left there
    assert view.figures(Dimension.SUB_PARK, "sp-b", Window.ALL_TIME, T0).figures.revenue == 120  # type: ignore[union-attr]
    hour = view.figures(Dimension.SECTOR, "sec-a", Window.HOUR, T0 + 10)
    assert hour is not None and hour.figures.revenue == 120 and hour.window_start == T0 // 1000
    assert view.figures(Dimension.PARK, "", Window.DAY, T0 + 86_400_000).figures.revenue == 0  # type: ignore[union-attr]
    assert view.figures(Dimension.SECTOR, "sec-unknown", Window.ALL_TIME, T0) is None


async def test_a_subscription_gets_a_snapshot_then_changes_coalesced_per_tenant() -> None:
    view = ParkView()
    view.apply(_ledger("ten_1", 1, 10))
    subscription = view.subscribe(None)
    view.apply(_ledger("ten_2", 1, 20))
    view.apply(_ledger("ten_2", 2, 30))  # replaces the pending ten_2 change
    changes = subscription.changes()
    first = await anext(changes)
    second = await anext(changes)
    assert (first[0].ledger.tenant_id, first[1]) == ("ten_1", True)
    assert (second[0].ledger.applied_offset, second[1]) == (2, False)
    assert first[2] + second[2] == 1  # one change of ten_2 was replaced by a newer one
    waiting = asyncio.ensure_future(anext(changes))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    view.apply(_ledger("ten_1", 2, 11))
    change, snapshot, _ = await asyncio.wait_for(waiting, 1)
    assert change.ledger.applied_offset == 2 and not snapshot
    subscription.close()


async def test_a_slow_reader_of_a_big_park_gets_every_tenant_s_last_state() -> None:
    # the snapshot of 1,100 tenants is offered before the reader reads anything
    view = ParkView()
    for number in range(1_100):
        view.apply(_ledger(f"ten_{number:04d}", 1, number))
    subscription = view.subscribe(None)
    view.apply(_ledger("ten_0000", 2, 5))  # a newer state of the first tenant replaces its snapshot
    changes = subscription.changes()
    seen = {}
    for _ in range(1_100):
        change, _snapshot, _skipped = await anext(changes)
        seen[change.ledger.tenant_id] = change.ledger.applied_offset
    assert len(seen) == 1_100 and seen["ten_0000"] == 2
    subscription.close()


def test_timestamps_are_utc_event_time() -> None:
    assert datetime.fromtimestamp(T0 / 1000, UTC).isoformat() == "2026-01-01T00:00:00+00:00"
