"""A settled order built by the domain, as PlaceOrder builds it: B writes its documents, K
sends its TradeSettled's size."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from park.events.v1.envelope_pb2 import Envelope
from parkos.money import Money

from bench.trades.settings import FEE_BPS
from services.trades.domain import Delivery, LicenseTerms, PermittedUse, Product, ProductDraft, ProductStatus
from services.trades.mapping import event_envelope
from services.trades.settlement import Order, OrderIds, TradeSettled
from services.trades.tenant_directory import FeeRate, KnownTenant, TenantStatus


def sample_order(order_id: str, settlement_id: str, license_id: str) -> Order:
    """A settled order built by the domain, as PlaceOrder builds it (the same documents follow)."""
    now = datetime.now(UTC)
    seller = KnownTenant("ten_seller", TenantStatus.ACTIVE, "sp-energy", "sec-data-services", 2)
    buyer = KnownTenant("ten_buyer", TenantStatus.ACTIVE, "sp-ai", "sec-data-services", 2)
    draft = ProductDraft(title="Bench dataset", description="", sector_id="", delivery=Delivery.DATASET,
                         price=Money(12_000_00, "CNY"), license=LicenseTerms(365, (PermittedUse.RESEARCH,)),
                         classification_level=2, contains_personal_information=False, quality_statement="")
    listed, _ = Product.list_new(draft, product_id="prd_bench", seller=seller, currency="CNY", now=now)
    order, _ = Order.place(order_id=order_id, idempotency_key=f"key-{order_id}",
                           product=replace(listed, status=ProductStatus.APPROVED), buyer=buyer, seller=seller,
                           fee_rate=FeeRate("sp-energy", FEE_BPS), ids=OrderIds(settlement_id, license_id), now=now)
    return order


def sample_settled_envelope() -> Envelope:
    """The TradeSettled envelope of a sample order."""
    return event_envelope(TradeSettled(sample_order("ord_sample", "stl_sample", "lic_sample")), correlation_id=None)
