"""Small builders for the trades domain's unit tests: tenants, fee rates, products, orders."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

from parkos.money import Money

from services.trades.domain import Delivery, LicenseTerms, PermittedUse, Product, ProductDraft, ReviewDecision
from services.trades.settlement import Order, OrderIds
from services.trades.tenant_directory import FeeRate, KnownTenant, TenantStatus

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
_numbers = itertools.count(1)


def tenant(tenant_id: str, status: TenantStatus = TenantStatus.ACTIVE, sub_park_id: str = "sp-energy",
           sector_id: str = "sec-digital-energy", version: int = 2) -> KnownTenant:
    return KnownTenant(tenant_id, status, sub_park_id, sector_id, version)


SELLER = tenant("ten_seller")
BUYER = tenant("ten_buyer", sub_park_id="sp-ai", sector_id="sec-ai-model-services")
ENERGY_RATE = FeeRate("sp-energy", 250)


def draft(**overrides: object) -> ProductDraft:
    fields: dict[str, object] = {
        "title": "Coking plant sensor readings 2024",
        "description": "Hourly temperatures and pressures of 12 coke ovens.",
        "sector_id": "",
        "delivery": Delivery.DATASET,
        "price": Money(12_000_00, "CNY"),
        "license": LicenseTerms(365, (PermittedUse.INTERNAL_ANALYTICS, PermittedUse.MODEL_TRAINING)),
        "classification_level": 2,
        "contains_personal_information": False,
        "quality_statement": "Complete, deduplicated, calibrated monthly.",
    }
    fields.update(overrides)
    return ProductDraft(**fields)  # type: ignore[arg-type]


def listed(**overrides: object) -> Product:
    product, _ = Product.list_new(draft(**overrides), product_id=f"prd_{next(_numbers)}", seller=SELLER,
                                  currency="CNY", now=NOW)
    return product


def approved(**overrides: object) -> Product:
    product, _ = listed(**overrides).reviewed(ReviewDecision(approve=True, security_assessment_ref="SA-2025-001"),
                                              actor="admin:reviewer", now=NOW)
    return product


def ids() -> OrderIds:
    number = next(_numbers)
    return OrderIds(settlement_id=f"stl_{number}", license_id=f"lic_{number}")


def order(product: Product | None = None, *, key: str = "order-key-0001", buyer: KnownTenant = BUYER,
          rate: FeeRate = ENERGY_RATE) -> Order:
    placed, _ = Order.place(order_id=f"ord_{next(_numbers)}", idempotency_key=key, product=product or approved(),
                            buyer=buyer, seller=SELLER, fee_rate=rate, ids=ids(), now=NOW)
    return placed


def priced(amount_minor: int) -> Product:
    return replace(approved(), price=Money(amount_minor, "CNY"))
