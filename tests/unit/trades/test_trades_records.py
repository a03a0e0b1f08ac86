"""Translations that decide nothing but must lose nothing: documents, protos, events, tenant events."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from park.tenants.v1 import tenants_pb2
from park.trades.v1 import events_pb2, trades_pb2
from parkos.errors import InvalidArgument
from parkos.events import parse_envelope, unpack_payload
from parkos.inbox import PermanentEventError

from services.trades import documents, mapping, request_checks
from services.trades.handlers import fee_rate_from_proto, known_tenant_from_proto
from services.trades.pools import Pool, VolumeTier
from services.trades.settlement import OrderRefunded, TradeSettled
from services.trades.tenant_directory import FeeRate, TenantStatus
from tests.unit.trades.trades_builders import BUYER, NOW, SELLER, approved, listed, order


def test_documents_round_trip_every_entity() -> None:
    product = approved(contains_personal_information=True)
    assert documents.product_from_document(documents.product_document(product)) == product
    assert documents.product_from_document(documents.product_document(listed())).review is None
    withdrawn = replace(product, seller_may_sell=False)
    assert documents.product_from_document(documents.product_document(withdrawn)) == withdrawn
    assert documents.product_document(withdrawn)["orderable"] is False  # what the catalog's index reads
    refunded, _ = order(product).refunded(reason="r", idempotency_key="refund-key-1", refund_id="rfd_1",
                                          actor="admin:a", now=NOW + timedelta(hours=1))
    for entity in (order(product), refunded):
        assert documents.order_from_document(documents.order_document(entity)) == entity
    pool, _ = Pool.open(pool_id="pol_1", product=product, seller=SELLER, tiers=(VolumeTier(1, 0), VolumeTier(5, 2000)),
                        closes_at=NOW + timedelta(hours=1), now=NOW)
    assert documents.pool_from_document(documents.pool_document(pool)) == pool
    assert documents.known_tenant_from_document(documents.known_tenant_document(BUYER)) == BUYER
    rate = FeeRate("sp-ai", 300)
    assert documents.fee_rate_from_document(documents.fee_rate_document(rate)) == rate
    assert documents.fee_rate_document(rate)["_id"] != "sp-ai", "fee rates never collide with tenant ids"


def test_money_is_stored_as_integers_and_ledger_rows_point_at_their_order() -> None:
    placed = order()
    row = documents.settlement_document(placed)
    assert row["_id"] == placed.settlement.settlement_id and row["order_id"] == placed.order_id
    assert all(type(row[k]["amount_minor"]) is int for k in ("gross", "fee", "net"))
    assert documents.license_document(placed)["buyer_tenant_id"] == BUYER.tenant_id


def test_settlement_events_carry_every_dimension_analytics_sums_by() -> None:
    placed = order()
    envelope = parse_envelope(mapping.event_envelope(TradeSettled(placed), correlation_id="c-1").SerializeToString())
    assert (envelope.aggregate_id, envelope.tenant_id, envelope.producer) == (placed.order_id, SELLER.tenant_id, "trades")
    event = unpack_payload(envelope, events_pb2.TradeSettled)
    assert (event.gross.amount_minor, event.fee.amount_minor, event.net.amount_minor) == (12_000_00, 300_00, 11_700_00)
    assert (event.buyer.sub_park_id, event.seller.sector_id, event.fee_bps) == ("sp-ai", "sec-digital-energy", 250)
    refunded, _ = placed.refunded(reason="r", idempotency_key="", refund_id="rfd_1", actor="admin:a", now=NOW)
    refund = unpack_payload(mapping.event_envelope(OrderRefunded(refunded), correlation_id=None), events_pb2.OrderRefunded)
    assert (refund.gross, refund.fee, refund.net) == (event.gross, event.fee, event.net)
    assert refund.settlement_id == event.settlement_id


def test_api_messages_carry_money_exactly() -> None:
    message = mapping.order_to_proto(order())
    assert message.settlement.gross.amount_minor == 12_000_00 and message.status == trades_pb2.ORDER_STATUS_SETTLED
    product = mapping.product_to_proto(approved())
    assert product.orderable and product.review.approved and product.price.currency == "CNY"


def test_tenant_events_become_directory_entries() -> None:
    tenant = tenants_pb2.Tenant(tenant_id="ten_x", sub_park_id="sp-ai", sector_id="sec-x", version=4,
                                status=tenants_pb2.TENANT_STATUS_SUSPENDED)
    known = known_tenant_from_proto(tenant)
    assert (known.status, known.version, known.placement.sub_park_id) == (TenantStatus.SUSPENDED, 4, "sp-ai")
    with pytest.raises(PermanentEventError):
        known_tenant_from_proto(tenants_pb2.Tenant(tenant_id="ten_x", sub_park_id="sp-ai", status=0))
    with pytest.raises(PermanentEventError):
        fee_rate_from_proto(tenants_pb2.SubPark(sub_park_id="sp-ai", trade_fee_bps=10_001))
    assert fee_rate_from_proto(tenants_pb2.SubPark(sub_park_id="sp-ai", trade_fee_bps=0)) == FeeRate("sp-ai", 0)


def test_request_checks() -> None:
    with pytest.raises(InvalidArgument) as caught:
        request_checks.product_id("ord_01JQ0000000000000000000000")
    assert caught.value.violations[0].field == "product_id"
    assert request_checks.search_words("  Coke  OVEN coke ") == ("coke", "oven")
    with pytest.raises(InvalidArgument):
        request_checks.search_words(" ".join(f"w{n}" for n in range(9)))
    with pytest.raises(InvalidArgument) as caught:
        request_checks.enum_value(0, {1: "a"}, "decision", required=True)
    assert str(caught.value) == "decision: is required"
    raw = trades_pb2.GetOrderRequest(order_id="x").SerializeToString() + b"\x98\x06\x01"
    with pytest.raises(InvalidArgument) as caught:
        request_checks.refuse_unknown_fields(trades_pb2.GetOrderRequest.FromString(raw))
    assert [v.field for v in caught.value.violations] == ["#99"]
