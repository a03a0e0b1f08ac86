"""Translation between the domain and park.trades.v1 messages (API and events).

Nothing here decides anything: it copies fields both ways and turns each domain event
into the envelope the outbox publishes (keys: product events by product_id, pool events
by pool_id, order events by order_id; see events.proto).
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from park.events.v1.envelope_pb2 import Envelope
from park.trades.v1 import events_pb2, trades_pb2
from parkos.events import build_envelope
from parkos.money import Money
from parkos.money_proto import money_from_proto, money_to_proto

from services.trades.domain import (
    Delivery,
    LicenseTerms,
    PermittedUse,
    Product,
    ProductDelistChanged,
    ProductListed,
    ProductReviewed,
    ProductStatus,
)
from services.trades.pools import Pool, PoolClosed, PoolJoined, PoolOpened, PoolStatus, VolumeTier
from services.trades.settlement import Order, OrderCancelled, OrderPlaced, OrderRefunded, OrderStatus, TradeSettled
from services.trades.tenant_directory import Placement

PRODUCER = "trades"

DELIVERY_TO_PROTO = {Delivery.DATASET: events_pb2.DELIVERY_DATASET, Delivery.DATA_API: events_pb2.DELIVERY_DATA_API}
DELIVERY_FROM_PROTO = {value: key for key, value in DELIVERY_TO_PROTO.items()}
PRODUCT_STATUS_TO_PROTO = {
    ProductStatus.PENDING_REVIEW: trades_pb2.PRODUCT_STATUS_PENDING_REVIEW,
    ProductStatus.APPROVED: trades_pb2.PRODUCT_STATUS_APPROVED,
    ProductStatus.REJECTED: trades_pb2.PRODUCT_STATUS_REJECTED,
}
PRODUCT_STATUS_FROM_PROTO = {value: key for key, value in PRODUCT_STATUS_TO_PROTO.items()}
LISTED_FROM_PROTO = {trades_pb2.LISTING_LISTED: True, trades_pb2.LISTING_DELISTED: False}
USE_TO_PROTO = {
    PermittedUse.INTERNAL_ANALYTICS: trades_pb2.PERMITTED_USE_INTERNAL_ANALYTICS,
    PermittedUse.MODEL_TRAINING: trades_pb2.PERMITTED_USE_MODEL_TRAINING,
    PermittedUse.PRODUCT_INTEGRATION: trades_pb2.PERMITTED_USE_PRODUCT_INTEGRATION,
    PermittedUse.RESEARCH: trades_pb2.PERMITTED_USE_RESEARCH,
    PermittedUse.REDISTRIBUTION: trades_pb2.PERMITTED_USE_REDISTRIBUTION,
}
USE_FROM_PROTO = {value: key for key, value in USE_TO_PROTO.items()}
ORDER_STATUS_TO_PROTO = {
    OrderStatus.POOL_PENDING: trades_pb2.ORDER_STATUS_POOL_PENDING,
    OrderStatus.SETTLED: trades_pb2.ORDER_STATUS_SETTLED,
    OrderStatus.REFUNDED: trades_pb2.ORDER_STATUS_REFUNDED,
    OrderStatus.CANCELLED: trades_pb2.ORDER_STATUS_CANCELLED,
}
ORDER_STATUS_FROM_PROTO = {value: key for key, value in ORDER_STATUS_TO_PROTO.items()}
POOL_STATUS_TO_PROTO = {
    PoolStatus.OPEN: trades_pb2.POOL_STATUS_OPEN,
    PoolStatus.CLOSED: trades_pb2.POOL_STATUS_CLOSED,
    PoolStatus.CANCELLED: trades_pb2.POOL_STATUS_CANCELLED,
}
POOL_STATUS_FROM_PROTO = {value: key for key, value in POOL_STATUS_TO_PROTO.items()}

DomainEvent = (
    ProductListed | ProductReviewed | ProductDelistChanged | PoolOpened | PoolJoined | PoolClosed
    | OrderPlaced | TradeSettled | OrderRefunded | OrderCancelled
)


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def optional_money(message: Message, field: str) -> Money | None:
    """The Money in ``field`` (named in errors), None when the field is unset."""
    if not message.HasField(field):
        return None
    return money_from_proto(getattr(message, field), field=field)


def placement_to_proto(placement: Placement) -> events_pb2.TenantPlacement:
    return events_pb2.TenantPlacement(
        tenant_id=placement.tenant_id, sub_park_id=placement.sub_park_id, sector_id=placement.sector_id
    )


def license_terms_from_proto(message: trades_pb2.LicenseTerms) -> LicenseTerms:
    """Unknown uses become a field violation in the caller (see api.py), never a silent drop."""
    return LicenseTerms(
        duration_days=message.duration_days,
        permitted_uses=tuple(USE_FROM_PROTO[use] for use in message.permitted_uses),
    )


def product_to_proto(product: Product) -> trades_pb2.Product:
    message = trades_pb2.Product(
        product_id=product.product_id,
        seller_tenant_id=product.seller_tenant_id,
        title=product.title,
        description=product.description,
        sector_id=product.sector_id,
        delivery=DELIVERY_TO_PROTO[product.delivery],
        price=money_to_proto(product.price),
        license=trades_pb2.LicenseTerms(
            duration_days=product.license.duration_days,
            permitted_uses=[USE_TO_PROTO[use] for use in product.license.permitted_uses],
        ),
        classification_level=product.classification_level,
        contains_personal_information=product.contains_personal_information,
        quality_statement=product.quality_statement,
        status=PRODUCT_STATUS_TO_PROTO[product.status],
        listed=product.listed,
        delist_reason=product.delist_reason,
        listed_at=timestamp(product.listed_at),
        updated_at=timestamp(product.updated_at),
        version=product.version,
        orderable=product.orderable,
    )
    if product.review is not None:
        review = product.review
        message.review.CopyFrom(trades_pb2.ProductReview(
            approved=review.approved, reasons=list(review.reasons),
            security_assessment_ref=review.security_assessment_ref, reviewed_by=review.reviewed_by,
            reviewed_at=timestamp(review.reviewed_at),
        ))
    return message


def order_to_proto(order: Order) -> trades_pb2.Order:
    message = trades_pb2.Order(
        order_id=order.order_id,
        product_id=order.product_id,
        product_title=order.product_title,
        buyer=placement_to_proto(order.buyer),
        seller=placement_to_proto(order.seller),
        status=ORDER_STATUS_TO_PROTO[order.status],
        list_price=money_to_proto(order.list_price),
        pool_id=order.pool_id,
        idempotency_key=order.idempotency_key,
        placed_at=timestamp(order.placed_at),
        cancel_reason=order.cancel_reason,
    )
    if order.settlement is not None:
        s = order.settlement
        message.settlement.CopyFrom(trades_pb2.Settlement(
            settlement_id=s.settlement_id, gross=money_to_proto(s.gross), fee=money_to_proto(s.fee),
            net=money_to_proto(s.net), fee_bps=s.fee_bps, settled_at=timestamp(s.settled_at),
        ))
    if order.license is not None:
        lic = order.license
        message.license.CopyFrom(trades_pb2.License(
            license_id=lic.license_id, permitted_uses=[USE_TO_PROTO[u] for u in lic.permitted_uses],
            valid_from=timestamp(lic.valid_from), valid_until=timestamp(lic.valid_until),
        ))
        if lic.revoked_at is not None:
            message.license.revoked_at.CopyFrom(timestamp(lic.revoked_at))
    if order.refund is not None:
        r = order.refund
        message.refund.CopyFrom(trades_pb2.Refund(
            refund_id=r.refund_id, gross=money_to_proto(r.gross), fee=money_to_proto(r.fee),
            net=money_to_proto(r.net), reason=r.reason, refunded_by=r.refunded_by,
            refunded_at=timestamp(r.refunded_at),
        ))
    return message


def tier_to_proto(tier: VolumeTier) -> events_pb2.VolumeTier:
    return events_pb2.VolumeTier(min_buyers=tier.min_buyers, discount_bps=tier.discount_bps)


def tier_from_proto(message: events_pb2.VolumeTier) -> VolumeTier:
    return VolumeTier(min_buyers=message.min_buyers, discount_bps=message.discount_bps)


def pool_to_proto(pool: Pool) -> trades_pb2.Pool:
    message = trades_pb2.Pool(
        pool_id=pool.pool_id,
        product_id=pool.product_id,
        seller_tenant_id=pool.seller_tenant_id,
        list_price=money_to_proto(pool.list_price),
        tiers=[tier_to_proto(tier) for tier in pool.tiers],
        closes_at=timestamp(pool.closes_at),
        status=POOL_STATUS_TO_PROTO[pool.status],
        members=pool.members,
        discount_bps=pool.discount_bps,
        unit_price=money_to_proto(pool.unit_price),
        opened_at=timestamp(pool.opened_at),
        cancel_reason=pool.cancel_reason,
    )
    if pool.closed_at is not None:
        message.closed_at.CopyFrom(timestamp(pool.closed_at))
    return message


# --- events -------------------------------------------------------------------------


def event_payload(event: DomainEvent) -> tuple[Message, str, str]:
    """``(payload, record key, envelope tenant id)`` of a domain event."""
    match event:
        case ProductListed(product):
            return _product_listed(product), product.product_id, product.seller_tenant_id
        case ProductReviewed(product):
            return _product_reviewed(product), product.product_id, product.seller_tenant_id
        case ProductDelistChanged(product):
            payload = events_pb2.ProductDelisted(
                product_id=product.product_id, seller_tenant_id=product.seller_tenant_id,
                reason=product.delist_reason, delisted=not product.listed, changed_at=timestamp(product.updated_at),
            )
            return payload, product.product_id, product.seller_tenant_id
        case PoolOpened(pool):
            payload = events_pb2.PoolOpened(
                pool_id=pool.pool_id, product_id=pool.product_id, seller_tenant_id=pool.seller_tenant_id,
                tiers=[tier_to_proto(t) for t in pool.tiers], closes_at=timestamp(pool.closes_at),
            )
            return payload, pool.pool_id, pool.seller_tenant_id
        case PoolJoined(pool, order, joined_at):
            payload = events_pb2.PoolJoined(
                pool_id=pool.pool_id, order_id=order.order_id, product_id=pool.product_id,
                buyer=placement_to_proto(order.buyer), seller_tenant_id=pool.seller_tenant_id,
                members=pool.members, joined_at=timestamp(joined_at),
            )
            return payload, pool.pool_id, order.buyer.tenant_id
        case PoolClosed(pool):
            return _pool_closed(pool), pool.pool_id, pool.seller_tenant_id
        case OrderPlaced(order):
            assert order.settlement is not None
            payload = events_pb2.OrderPlaced(
                order_id=order.order_id, product_id=order.product_id, buyer=placement_to_proto(order.buyer),
                seller=placement_to_proto(order.seller), gross=money_to_proto(order.settlement.gross),
                pool_id=order.pool_id, placed_at=timestamp(order.placed_at),
            )
            return payload, order.order_id, order.buyer.tenant_id
        case TradeSettled(order):
            return _trade_settled(order), order.order_id, order.seller.tenant_id
        case OrderRefunded(order):
            return _order_refunded(order), order.order_id, order.seller.tenant_id
        case OrderCancelled(order, cancelled_at):
            payload = events_pb2.OrderCancelled(
                order_id=order.order_id, pool_id=order.pool_id, product_id=order.product_id,
                buyer=placement_to_proto(order.buyer), seller_tenant_id=order.seller.tenant_id,
                reason=order.cancel_reason, cancelled_at=timestamp(cancelled_at),
            )
            return payload, order.order_id, order.buyer.tenant_id
    raise TypeError(f"not a trades domain event: {event!r}")


def event_envelope(event: DomainEvent, *, correlation_id: str | None) -> Envelope:
    """The envelope the outbox publishes for ``event``; a fresh event id on every call."""
    payload, key, tenant_id = event_payload(event)
    return build_envelope(payload, producer=PRODUCER, aggregate_id=key, tenant_id=tenant_id,
                          correlation_id=correlation_id)


def _product_listed(product: Product) -> events_pb2.ProductListed:
    return events_pb2.ProductListed(
        product_id=product.product_id, seller_tenant_id=product.seller_tenant_id, title=product.title,
        sector_id=product.sector_id, delivery=DELIVERY_TO_PROTO[product.delivery],
        price=money_to_proto(product.price), classification_level=product.classification_level,
        contains_personal_information=product.contains_personal_information, listed_at=timestamp(product.listed_at),
    )


def _product_reviewed(product: Product) -> events_pb2.ProductReviewed:
    review = product.review
    assert review is not None
    return events_pb2.ProductReviewed(
        product_id=product.product_id, seller_tenant_id=product.seller_tenant_id, approved=review.approved,
        reasons=list(review.reasons), security_assessment_ref=review.security_assessment_ref,
        classification_level=product.classification_level, reviewed_by=review.reviewed_by,
        reviewed_at=timestamp(review.reviewed_at),
    )


def _pool_closed(pool: Pool) -> events_pb2.PoolClosed:
    assert pool.closed_at is not None
    return events_pb2.PoolClosed(
        pool_id=pool.pool_id, product_id=pool.product_id, members=pool.members, discount_bps=pool.discount_bps,
        unit_price=money_to_proto(pool.unit_price), closed_at=timestamp(pool.closed_at),
        cancelled=pool.status is PoolStatus.CANCELLED, reason=pool.cancel_reason,
        dropped_members=pool.dropped_members, seller_tenant_id=pool.seller_tenant_id,
    )


def _trade_settled(order: Order) -> events_pb2.TradeSettled:
    s = order.settlement
    assert s is not None
    return events_pb2.TradeSettled(
        settlement_id=s.settlement_id, order_id=order.order_id, product_id=order.product_id,
        buyer=placement_to_proto(order.buyer), seller=placement_to_proto(order.seller),
        gross=money_to_proto(s.gross), fee=money_to_proto(s.fee), net=money_to_proto(s.net), fee_bps=s.fee_bps,
        classification_level=order.classification_level, pool_id=order.pool_id, settled_at=timestamp(s.settled_at),
    )


def _order_refunded(order: Order) -> events_pb2.OrderRefunded:
    r, s = order.refund, order.settlement
    assert r is not None and s is not None
    return events_pb2.OrderRefunded(
        refund_id=r.refund_id, order_id=order.order_id, settlement_id=s.settlement_id,
        product_id=order.product_id, buyer=placement_to_proto(order.buyer), seller=placement_to_proto(order.seller),
        gross=money_to_proto(r.gross), fee=money_to_proto(r.fee), net=money_to_proto(r.net), reason=r.reason,
        refunded_by=r.refunded_by, refunded_at=timestamp(r.refunded_at),
    )
