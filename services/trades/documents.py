"""MongoDB documents of the trades database, to and from domain entities.

Each entity is one document whose ``_id`` is the entity's id. Money is stored as
``{"amount_minor": int, "currency": str}`` (never a float); times are UTC datetimes with
millisecond precision, which is why the service's clock truncates to milliseconds.

Besides the order (which embeds its settlement, license and refund for reads), each
settlement, license and refund is also written to a ledger collection of its own, with a
unique index on ``order_id``: the database itself refuses a second settlement of an order.
"""

from __future__ import annotations

from typing import Any

from parkos.money import Money

from services.trades.domain import (
    Delivery,
    LicenseTerms,
    PermittedUse,
    Product,
    ProductStatus,
    Review,
)
from services.trades.pools import Pool, PoolStatus, VolumeTier
from services.trades.settlement import License, Order, OrderStatus, Refund, Settlement
from services.trades.tenant_directory import FeeRate, KnownTenant, Placement, TenantStatus

Document = dict[str, Any]


def money_document(money: Money) -> Document:
    return {"amount_minor": money.amount_minor, "currency": money.currency}


def money_from_document(document: Document) -> Money:
    return Money(int(document["amount_minor"]), document["currency"])


def search_text(title: str, description: str) -> str:
    """What catalog text search matches against: title and description, case-folded."""
    return f"{title}\n{description}".casefold()


# --- products -------------------------------------------------------------------------


def product_document(product: Product) -> Document:
    review = product.review
    return {
        "_id": product.product_id,
        "seller_tenant_id": product.seller_tenant_id,
        "title": product.title,
        "description": product.description,
        "search_text": search_text(product.title, product.description),
        "sector_id": product.sector_id,
        "delivery": product.delivery.value,
        "price": money_document(product.price),
        "license": _license_terms_document(product.license),
        "classification_level": product.classification_level,
        "contains_personal_information": product.contains_personal_information,
        "quality_statement": product.quality_statement,
        "status": product.status.value,
        "listed": product.listed,
        "seller_may_sell": product.seller_may_sell,
        "orderable": product.orderable,
        "review": None if review is None else {
            "approved": review.approved,
            "reasons": list(review.reasons),
            "security_assessment_ref": review.security_assessment_ref,
            "reviewed_by": review.reviewed_by,
            "reviewed_at": review.reviewed_at,
        },
        "delist_reason": product.delist_reason,
        "delisted_by_admin": product.delisted_by_admin,
        "listed_at": product.listed_at,
        "updated_at": product.updated_at,
        "version": product.version,
    }


def product_from_document(document: Document) -> Product:
    review = document["review"]
    return Product(
        product_id=document["_id"],
        seller_tenant_id=document["seller_tenant_id"],
        title=document["title"],
        description=document["description"],
        sector_id=document["sector_id"],
        delivery=Delivery(document["delivery"]),
        price=money_from_document(document["price"]),
        license=_license_terms_from_document(document["license"]),
        classification_level=document["classification_level"],
        contains_personal_information=document["contains_personal_information"],
        quality_statement=document["quality_statement"],
        status=ProductStatus(document["status"]),
        listed=document["listed"],
        review=None if review is None else Review(
            approved=review["approved"],
            reasons=tuple(review["reasons"]),
            security_assessment_ref=review["security_assessment_ref"],
            reviewed_by=review["reviewed_by"],
            reviewed_at=review["reviewed_at"],
        ),
        delist_reason=document["delist_reason"],
        delisted_by_admin=document["delisted_by_admin"],
        listed_at=document["listed_at"],
        updated_at=document["updated_at"],
        version=document["version"],
        seller_may_sell=document.get("seller_may_sell", True),  # products listed before it was kept
    )


def _license_terms_document(terms: LicenseTerms) -> Document:
    return {"duration_days": terms.duration_days, "permitted_uses": [use.value for use in terms.permitted_uses]}


def _license_terms_from_document(document: Document) -> LicenseTerms:
    return LicenseTerms(document["duration_days"], tuple(PermittedUse(use) for use in document["permitted_uses"]))


# --- orders and their ledgers ---------------------------------------------------------


def order_document(order: Order) -> Document:
    return {
        "_id": order.order_id,
        "idempotency_key": order.idempotency_key,
        "product_id": order.product_id,
        "product_title": order.product_title,
        "classification_level": order.classification_level,
        "license_terms": _license_terms_document(order.license_terms),
        "buyer": _placement_document(order.buyer),
        "seller": _placement_document(order.seller),
        "list_price": money_document(order.list_price),
        "status": order.status.value,
        "placed_at": order.placed_at,
        "pool_id": order.pool_id,
        "settlement": None if order.settlement is None else _settlement_fields(order.settlement),
        "license": None if order.license is None else _license_fields(order.license),
        "refund": None if order.refund is None else _refund_fields(order.refund),
        "cancel_reason": order.cancel_reason,
        "version": order.version,
    }


def order_from_document(document: Document) -> Order:
    settlement, license_, refund = document["settlement"], document["license"], document["refund"]
    return Order(
        order_id=document["_id"],
        idempotency_key=document["idempotency_key"],
        product_id=document["product_id"],
        product_title=document["product_title"],
        classification_level=document["classification_level"],
        license_terms=_license_terms_from_document(document["license_terms"]),
        buyer=_placement_from_document(document["buyer"]),
        seller=_placement_from_document(document["seller"]),
        list_price=money_from_document(document["list_price"]),
        status=OrderStatus(document["status"]),
        placed_at=document["placed_at"],
        pool_id=document["pool_id"],
        settlement=None if settlement is None else Settlement(
            settlement_id=settlement["settlement_id"],
            gross=money_from_document(settlement["gross"]),
            fee=money_from_document(settlement["fee"]),
            net=money_from_document(settlement["net"]),
            fee_bps=settlement["fee_bps"],
            settled_at=settlement["settled_at"],
        ),
        license=None if license_ is None else License(
            license_id=license_["license_id"],
            permitted_uses=tuple(PermittedUse(use) for use in license_["permitted_uses"]),
            valid_from=license_["valid_from"],
            valid_until=license_["valid_until"],
            revoked_at=license_["revoked_at"],
        ),
        refund=None if refund is None else Refund(
            refund_id=refund["refund_id"],
            gross=money_from_document(refund["gross"]),
            fee=money_from_document(refund["fee"]),
            net=money_from_document(refund["net"]),
            reason=refund["reason"],
            refunded_by=refund["refunded_by"],
            refunded_at=refund["refunded_at"],
            idempotency_key=refund["idempotency_key"],
        ),
        cancel_reason=document["cancel_reason"],
        version=document["version"],
    )


def settlement_document(order: Order) -> Document:
    """The settlement ledger row of a settled order."""
    assert order.settlement is not None
    fields = _settlement_fields(order.settlement)
    return {"_id": fields.pop("settlement_id"), **_ledger_keys(order), **fields}


def license_document(order: Order) -> Document:
    """The license grant of a settled order."""
    assert order.license is not None
    fields = _license_fields(order.license)
    return {"_id": fields.pop("license_id"), **_ledger_keys(order), **fields}


def refund_document(order: Order) -> Document:
    """The refund ledger row of a refunded order."""
    assert order.refund is not None and order.settlement is not None
    fields = _refund_fields(order.refund)
    return {"_id": fields.pop("refund_id"), **_ledger_keys(order), "settlement_id": order.settlement.settlement_id,
            **fields}


def _ledger_keys(order: Order) -> Document:
    return {
        "order_id": order.order_id,
        "product_id": order.product_id,
        "pool_id": order.pool_id,
        "buyer_tenant_id": order.buyer.tenant_id,
        "seller_tenant_id": order.seller.tenant_id,
    }


def _settlement_fields(settlement: Settlement) -> Document:
    return {
        "settlement_id": settlement.settlement_id,
        "gross": money_document(settlement.gross),
        "fee": money_document(settlement.fee),
        "net": money_document(settlement.net),
        "fee_bps": settlement.fee_bps,
        "settled_at": settlement.settled_at,
    }


def _license_fields(license_: License) -> Document:
    return {
        "license_id": license_.license_id,
        "permitted_uses": [use.value for use in license_.permitted_uses],
        "valid_from": license_.valid_from,
        "valid_until": license_.valid_until,
        "revoked_at": license_.revoked_at,
    }


def _refund_fields(refund: Refund) -> Document:
    return {
        "refund_id": refund.refund_id,
        "gross": money_document(refund.gross),
        "fee": money_document(refund.fee),
        "net": money_document(refund.net),
        "reason": refund.reason,
        "refunded_by": refund.refunded_by,
        "refunded_at": refund.refunded_at,
        "idempotency_key": refund.idempotency_key,
    }


def _placement_document(placement: Placement) -> Document:
    return {"tenant_id": placement.tenant_id, "sub_park_id": placement.sub_park_id, "sector_id": placement.sector_id}


def _placement_from_document(document: Document) -> Placement:
    return Placement(document["tenant_id"], document["sub_park_id"], document["sector_id"])


# --- pools ----------------------------------------------------------------------------


def pool_document(pool: Pool) -> Document:
    return {
        "_id": pool.pool_id,
        "product_id": pool.product_id,
        "seller_tenant_id": pool.seller_tenant_id,
        "list_price": money_document(pool.list_price),
        "tiers": [{"min_buyers": t.min_buyers, "discount_bps": t.discount_bps} for t in pool.tiers],
        "closes_at": pool.closes_at,
        "status": pool.status.value,
        "members": pool.members,
        "opened_at": pool.opened_at,
        "closed_at": pool.closed_at,
        "discount_bps": pool.discount_bps,
        "cancel_reason": pool.cancel_reason,
        "dropped_members": pool.dropped_members,
        "version": pool.version,
    }


def pool_from_document(document: Document) -> Pool:
    return Pool(
        pool_id=document["_id"],
        product_id=document["product_id"],
        seller_tenant_id=document["seller_tenant_id"],
        list_price=money_from_document(document["list_price"]),
        tiers=tuple(VolumeTier(t["min_buyers"], t["discount_bps"]) for t in document["tiers"]),
        closes_at=document["closes_at"],
        status=PoolStatus(document["status"]),
        members=document["members"],
        opened_at=document["opened_at"],
        closed_at=document["closed_at"],
        discount_bps=document["discount_bps"],
        cancel_reason=document["cancel_reason"],
        dropped_members=document["dropped_members"],
        version=document["version"],
    )


# --- the tenant directory (read model of park.tenants.v1) -------------------------------

TENANT_KIND = "tenant"
FEE_RATE_KIND = "fee_rate"
SECTOR_KIND = "sector"


def known_tenant_document(tenant: KnownTenant) -> Document:
    return {
        "_id": tenant.tenant_id,
        "kind": TENANT_KIND,
        "status": tenant.status.value,
        "sub_park_id": tenant.sub_park_id,
        "sector_id": tenant.sector_id,
        "version": tenant.version,
    }


def known_tenant_from_document(document: Document) -> KnownTenant:
    return KnownTenant(
        tenant_id=document["_id"],
        status=TenantStatus(document["status"]),
        sub_park_id=document["sub_park_id"],
        sector_id=document["sector_id"],
        version=document["version"],
    )


def fee_rate_id(sub_park_id: str) -> str:
    """The directory id of a sub-park's fee rate (apart from tenant ids, which start with ``ten_``)."""
    return f"{FEE_RATE_KIND}/{sub_park_id}"


def fee_rate_document(rate: FeeRate) -> Document:
    return {"_id": fee_rate_id(rate.sub_park_id), "kind": FEE_RATE_KIND, "sub_park_id": rate.sub_park_id,
            "trade_fee_bps": rate.trade_fee_bps}


def fee_rate_from_document(document: Document) -> FeeRate:
    return FeeRate(document["sub_park_id"], document["trade_fee_bps"])


def sector_id_in_directory(sector_id: str) -> str:
    """The directory id of a sector the park defined."""
    return f"{SECTOR_KIND}/{sector_id}"


def sector_document(sector_id: str, name: str) -> Document:
    return {"_id": sector_id_in_directory(sector_id), "kind": SECTOR_KIND, "sector_id": sector_id, "name": name}
