"""The park.trades.v1.TradesService servicer.

Each call checks the request's form, authorizes the caller, translates the message into
domain terms, lets the domain decide inside a store transaction, and translates back.
Errors are ``parkos.errors`` exceptions; the gRPC layer turns them into statuses.

Who may do what: admins everything; a tenant acts only for itself (as the seller of its
products and pools, as the buyer of its orders) and sees only its own orders; banks read
the catalog and pools. A tenant asking to act for another tenant is refused before
anything is looked up; an object a caller may not see is NOT_FOUND, so a refusal never
tells whether it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from park.trades.v1 import trades_pb2, trades_pb2_grpc
from parkos.auth import Principal, Role, require_admin, require_role
from parkos.errors import FieldViolation, InvalidArgument, NotFound, ParkError, PermissionDenied
from parkos.grpc import current_principal
from parkos.ids import new_id
from parkos.logging import current_correlation_id
from parkos.money import Money
from parkos.page_tokens import PageTokens, page_size

from services.trades import ids, mapping, request_checks
from services.trades.domain import LicenseTerms, Product, ProductDraft, ReviewDecision, price_violations
from services.trades.pools import Pool
from services.trades.settlement import Order, check_idempotency_key
from services.trades.store import (
    CatalogQuery,
    OrderQuery,
    PoolQuery,
    ProductQuery,
    TradesStore,
    Transaction,
)
from services.trades.tenant_directory import seller_party

Clock = Callable[[], datetime]
SERVICE_NAME = trades_pb2.DESCRIPTOR.services_by_name["TradesService"].full_name
_CATALOG_READERS = (Role.ADMIN, Role.TENANT, Role.BANK)


def park_clock() -> datetime:
    """Now, in UTC, truncated to the millisecond MongoDB keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class TradesApiConfig:
    """What the servicer needs besides its collaborators."""

    currency: str = "CNY"


class TradesServicer(trades_pb2_grpc.TradesServiceServicer):
    """gRPC entry point of the trades service."""

    def __init__(
        self, store: TradesStore, *, page_tokens: PageTokens, config: TradesApiConfig = TradesApiConfig(),
        clock: Clock = park_clock,
    ) -> None:
        self._store = store
        self._pages = page_tokens
        self._config = config
        self._clock = clock

    # --- products ---------------------------------------------------------------------

    async def ListProduct(self, request: trades_pb2.ListProductRequest, context: Any) -> trades_pb2.Product:
        """A seller lists a data product; it waits for an administrator's review."""
        principal = _checked(request)
        seller_id = _acting_for(principal, request.seller_tenant_id, "seller_tenant_id")
        draft = ProductDraft(
            title=request.title,
            description=request.description,
            sector_id=request.sector_id,
            delivery=request_checks.enum_value(request.delivery, mapping.DELIVERY_FROM_PROTO, "delivery"),
            price=mapping.optional_money(request, "price"),
            license=_license_terms(request),
            classification_level=request.classification_level,
            contains_personal_information=request.contains_personal_information,
            quality_statement=request.quality_statement,
        )
        product_id, now = new_id(ids.PRODUCT), self._clock()

        async def list_product(tx: Transaction) -> Product:
            seller = (await tx.tenants(seller_id)).get(seller_id)
            product, event = Product.list_new(draft, product_id=product_id, seller=seller,
                                              currency=self._config.currency, now=now)
            await tx.add_product(product)
            tx.record(event)
            return product

        return mapping.product_to_proto(await self._transaction(list_product))

    async def GetProduct(self, request: trades_pb2.GetProductRequest, context: Any) -> trades_pb2.Product:
        """An orderable product to any reader; any other only to its seller and admins."""
        principal = _checked(request)
        require_role(principal, *_CATALOG_READERS)
        product = await self._store.product(request_checks.product_id(request.product_id))
        if product is None or not (product.orderable or _may_manage(principal, product.seller_tenant_id)):
            raise NotFound("product not found")
        return mapping.product_to_proto(product)

    async def ListProducts(
        self, request: trades_pb2.ListProductsRequest, context: Any
    ) -> trades_pb2.ListProductsResponse:
        """A seller's own products in every state; admins any seller's."""
        principal = _checked(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        seller_id = request_checks.optional_tenant_id(request.seller_tenant_id, "seller_tenant_id")
        if principal.role is Role.TENANT:
            seller_id = _acting_for(principal, seller_id, "seller_tenant_id")
        status = request_checks.enum_value(request.status, mapping.PRODUCT_STATUS_FROM_PROTO, "status")
        query = ProductQuery(seller_tenant_id=seller_id, status=status)
        found, token = await self._page(principal, "ListProducts", query, request.page, self._store.list_products)
        return trades_pb2.ListProductsResponse(products=[mapping.product_to_proto(p) for p in found],
                                               page={"next_page_token": token})

    async def SearchCatalog(
        self, request: trades_pb2.SearchCatalogRequest, context: Any
    ) -> trades_pb2.SearchCatalogResponse:
        """Approved, listed products matching every filter given."""
        principal = _checked(request)
        require_role(principal, *_CATALOG_READERS)
        min_price = mapping.optional_money(request, "min_price")
        max_price = mapping.optional_money(request, "max_price")
        _check_price_range(min_price, max_price, self._config.currency)
        delivery = request_checks.enum_value(request.delivery, mapping.DELIVERY_FROM_PROTO, "delivery")
        query = CatalogQuery(
            sector_id=request.sector_id.strip(),
            words=request_checks.search_words(request.text),
            min_price_minor=min_price.amount_minor if min_price else None,
            max_price_minor=max_price.amount_minor if max_price else None,
            seller_tenant_id=request_checks.optional_tenant_id(request.seller_tenant_id, "seller_tenant_id"),
            delivery=delivery.value if delivery else "",
        )
        found, token = await self._page(principal, "SearchCatalog", query, request.page, self._store.search_catalog)
        return trades_pb2.SearchCatalogResponse(products=[mapping.product_to_proto(p) for p in found],
                                                page={"next_page_token": token})

    async def ReviewProduct(self, request: trades_pb2.ReviewProductRequest, context: Any) -> trades_pb2.Product:
        """Admin: approve or reject a product awaiting review."""
        principal = _admin(request)
        product_id = request_checks.product_id(request.product_id)
        decision_value = request_checks.enum_value(
            request.decision, {trades_pb2.REVIEW_DECISION_APPROVE: True, trades_pb2.REVIEW_DECISION_REJECT: False},
            "decision", required=True,
        )
        decision = ReviewDecision(
            approve=bool(decision_value), reasons=tuple(request.reasons),
            security_assessment_ref=request.security_assessment_ref,
            classification_level=request.classification_level,
        )
        now = self._clock()

        async def review(tx: Transaction) -> Product:
            product, event = (await tx.product(product_id)).reviewed(decision, actor=principal.subject, now=now)
            await tx.save_product(product)
            tx.record(event)
            return product

        return mapping.product_to_proto(await self._transaction(review))

    async def DelistProduct(self, request: trades_pb2.DelistProductRequest, context: Any) -> trades_pb2.Product:
        """Admin or the seller: off the catalog."""
        principal = _checked(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        product_id = request_checks.product_id(request.product_id)
        now = self._clock()

        async def delist(tx: Transaction) -> Product:
            product = _managed(principal, await tx.product(product_id))
            product, event = product.delisted(request.reason, by_admin=principal.is_admin(), now=now)
            await tx.save_product(product)
            tx.record(event)
            return product

        return mapping.product_to_proto(await self._transaction(delist))

    async def RelistProduct(self, request: trades_pb2.RelistProductRequest, context: Any) -> trades_pb2.Product:
        """Admin, or an active seller that delisted it itself: back on the catalog."""
        principal = _checked(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        product_id = request_checks.product_id(request.product_id)
        now = self._clock()

        async def relist(tx: Transaction) -> Product:
            product = _managed(principal, await tx.product(product_id))
            if not principal.is_admin():
                seller_party((await tx.tenants(product.seller_tenant_id)).get(product.seller_tenant_id), own=True)
            product, event = product.relisted(by_admin=principal.is_admin(), now=now)
            await tx.save_product(product)
            tx.record(event)
            return product

        return mapping.product_to_proto(await self._transaction(relist))

    # --- orders -----------------------------------------------------------------------

    async def PlaceOrder(self, request: trades_pb2.PlaceOrderRequest, context: Any) -> trades_pb2.Order:
        """Buy a product: order, settlement, license and events in one transaction; idempotent per key."""
        principal = _checked(request)
        buyer_id = _acting_for(principal, request.buyer_tenant_id, "buyer_tenant_id")
        key = check_idempotency_key(request.idempotency_key)
        product_id = request_checks.product_id(request.product_id)
        order_id, order_ids, now = new_id(ids.ORDER), ids.new_order_ids(), self._clock()

        async def place(tx: Transaction) -> Order:
            # The key is checked by the unique index when the order is inserted, not read first:
            # a retry (rare) costs a failed transaction and a read, a first call (the norm) nothing.
            product = await tx.product(product_id)
            parties, rates = await tx.directory(buyer_id, product.seller_tenant_id)
            seller = parties.get(product.seller_tenant_id)
            order, events = Order.place(
                order_id=order_id, idempotency_key=key, product=product, buyer=parties.get(buyer_id), seller=seller,
                fee_rate=rates.get(seller.sub_park_id) if seller is not None else None, ids=order_ids, now=now,
            )
            await tx.add_order(order)
            tx.record(*events)
            return order

        order = await self._idempotent(place, buyer_id, key, product_id=product_id, pool_id="")
        return mapping.order_to_proto(order)

    async def GetOrder(self, request: trades_pb2.GetOrderRequest, context: Any) -> trades_pb2.Order:
        """The buyer, the seller or an admin; NOT_FOUND for anyone else."""
        principal = _checked(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        order = await self._store.order(request_checks.order_id(request.order_id))
        if order is None or not (principal.is_admin() or order.visible_to(principal.tenant_id or "")):
            raise NotFound("order not found")
        return mapping.order_to_proto(order)

    async def ListOrders(self, request: trades_pb2.ListOrdersRequest, context: Any) -> trades_pb2.ListOrdersResponse:
        """A buyer's purchases, a seller's sales (both for a tenant by default); admins any."""
        principal = _checked(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        tenant_id = request_checks.optional_tenant_id(request.tenant_id, "tenant_id")
        if principal.role is Role.TENANT:
            tenant_id = _acting_for(principal, tenant_id, "tenant_id")
        side = request_checks.enum_value(
            request.side, {trades_pb2.ORDER_SIDE_BUYER: "buyer", trades_pb2.ORDER_SIDE_SELLER: "seller"}, "side"
        )
        if side and not tenant_id:
            raise InvalidArgument.for_field("tenant_id", "is required to list one side's orders")
        query = OrderQuery(
            buyer_tenant_id=tenant_id if side == "buyer" else "",
            seller_tenant_id=tenant_id if side == "seller" else "",
            either_tenant_id=tenant_id if side is None else "",
            status=request_checks.enum_value(request.status, mapping.ORDER_STATUS_FROM_PROTO, "status"),
            product_id=request.product_id and request_checks.product_id(request.product_id),
        )
        found, token = await self._page(principal, "ListOrders", query, request.page, self._store.list_orders)
        return trades_pb2.ListOrdersResponse(orders=[mapping.order_to_proto(o) for o in found],
                                             page={"next_page_token": token})

    async def RefundOrder(self, request: trades_pb2.RefundOrderRequest, context: Any) -> trades_pb2.Order:
        """Admin: reverse a settlement exactly, once."""
        principal = _admin(request)
        order_id = request_checks.order_id(request.order_id)
        refund_id, now = new_id(ids.REFUND), self._clock()

        async def refund(tx: Transaction) -> Order:
            order = await tx.order(order_id)
            changed, event = order.refunded(reason=request.reason, idempotency_key=request.idempotency_key,
                                            refund_id=refund_id, actor=principal.subject, now=now)
            if event is not None:
                await tx.save_orders([(order, changed)])
                tx.record(event)
            return changed

        return mapping.order_to_proto(await self._transaction(refund))

    # --- pools ------------------------------------------------------------------------

    async def OpenPool(self, request: trades_pb2.OpenPoolRequest, context: Any) -> trades_pb2.Pool:
        """The seller (or an admin): a demand pool on an orderable product."""
        principal = _checked(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        product_id = request_checks.product_id(request.product_id)
        tiers = [mapping.tier_from_proto(tier) for tier in request.tiers]
        closes_at = _millis(request.closes_at.ToDatetime(tzinfo=UTC)) if request.HasField("closes_at") else None
        pool_id, now = new_id(ids.POOL), self._clock()

        async def open_pool(tx: Transaction) -> Pool:
            product = _managed(principal, await tx.product(product_id))
            seller = (await tx.tenants(product.seller_tenant_id)).get(product.seller_tenant_id)
            pool, event = Pool.open(pool_id=pool_id, product=product, seller=seller, tiers=tiers,
                                    closes_at=closes_at, now=now)
            await tx.add_pool(pool)
            tx.record(event)
            return pool

        return mapping.pool_to_proto(await self._transaction(open_pool))

    async def JoinPool(self, request: trades_pb2.JoinPoolRequest, context: Any) -> trades_pb2.Order:
        """A buyer joins an open pool; its order settles when the pool closes. Idempotent per key."""
        principal = _checked(request)
        buyer_id = _acting_for(principal, request.buyer_tenant_id, "buyer_tenant_id")
        key = check_idempotency_key(request.idempotency_key)
        pool_id = request_checks.pool_id(request.pool_id)
        order_id, now = new_id(ids.ORDER), self._clock()

        async def join(tx: Transaction) -> Order:  # the key is checked as in PlaceOrder (see _idempotent)
            pool = await tx.pool(pool_id)
            product = await tx.product(pool.product_id)
            parties = await tx.tenants(buyer_id, pool.seller_tenant_id)
            pool, order, event = pool.joined(
                order_id=order_id, idempotency_key=key, product=product, buyer=parties.get(buyer_id),
                seller=parties.get(pool.seller_tenant_id), already_member=await tx.is_pool_member(pool_id, buyer_id),
                now=now,
            )
            await tx.save_pool(pool)
            await tx.add_order(order)
            tx.record(event)
            return order

        order = await self._idempotent(join, buyer_id, key, product_id=None, pool_id=pool_id)
        return mapping.order_to_proto(order)

    async def GetPool(self, request: trades_pb2.GetPoolRequest, context: Any) -> trades_pb2.Pool:
        principal = _checked(request)
        require_role(principal, *_CATALOG_READERS)
        pool = await self._store.pool(request_checks.pool_id(request.pool_id))
        if pool is None:
            raise NotFound("pool not found")
        return mapping.pool_to_proto(pool)

    async def ListPools(self, request: trades_pb2.ListPoolsRequest, context: Any) -> trades_pb2.ListPoolsResponse:
        principal = _checked(request)
        require_role(principal, *_CATALOG_READERS)
        query = PoolQuery(
            product_id=request.product_id and request_checks.product_id(request.product_id),
            seller_tenant_id=request_checks.optional_tenant_id(request.seller_tenant_id, "seller_tenant_id"),
            status=request_checks.enum_value(request.status, mapping.POOL_STATUS_FROM_PROTO, "status"),
        )
        found, token = await self._page(principal, "ListPools", query, request.page, self._store.list_pools)
        return trades_pb2.ListPoolsResponse(pools=[mapping.pool_to_proto(p) for p in found],
                                            page={"next_page_token": token})

    # --- helpers ----------------------------------------------------------------------

    async def _transaction(self, work: Callable[[Transaction], Any]) -> Any:
        return await self._store.transaction(work, correlation_id=current_correlation_id())

    async def _idempotent(
        self, work: Callable[[Transaction], Any], buyer_id: str, key: str, *, product_id: str | None, pool_id: str
    ) -> Order:
        """Run ``work``, unless the buyer's key already made an order: then return that first result.

        A retry finds its key taken (the unique index refuses the second order) or, if the world
        changed since the first call (product delisted, buyer suspended), fails the domain's checks;
        either way the order the key made is what the retry returns.
        """
        try:
            return await self._transaction(work)
        except ParkError:
            first = await self._store.order_by_key(buyer_id, key)
            if first is None:
                raise
            return _same_request(first, product_id=product_id or first.product_id, pool_id=pool_id)

    async def _page(self, principal: Principal, method: str, query: Any, page: Any, fetch: Callable) -> tuple[list, str]:
        """One page of ``fetch(query)`` and the token of the next (empty after the last page)."""
        size = page_size(page.page_size)
        fingerprint = {"method": method, **vars(query)}
        caller = f"{principal.role}:{principal.subject}"
        after = self._pages.decode(page.page_token, query=fingerprint, caller=caller)
        found = await fetch(query, after=after, limit=size + 1)
        if len(found) <= size:
            return found, ""
        found = found[:size]
        return found, self._pages.encode(last_id=_id_of(found[-1]), query=fingerprint, caller=caller)


def add_to_server(servicer: TradesServicer, server: grpc.aio.Server) -> None:
    """Register the servicer on a grpc.aio server."""
    trades_pb2_grpc.add_TradesServiceServicer_to_server(servicer, server)


def _checked(request: Any) -> Principal:
    """The caller; the request is checked for unknown fields first."""
    principal = current_principal()
    request_checks.refuse_unknown_fields(request)
    return principal


def _admin(request: Any) -> Principal:
    principal = current_principal()
    require_admin(principal)
    request_checks.refuse_unknown_fields(request)
    return principal


def _acting_for(principal: Principal, requested: str, field: str) -> str:
    """The tenant a call acts for: a tenant only for itself, an admin for the one it names."""
    if principal.role is Role.TENANT:
        own = principal.tenant_id or ""
        if requested and requested != own:
            raise PermissionDenied("a tenant can only act for itself")
        return own
    if principal.role is Role.ADMIN:
        return request_checks.tenant_id(requested, field)
    raise PermissionDenied("requires role admin or tenant")


def _may_manage(principal: Principal, seller_tenant_id: str) -> bool:
    return principal.is_admin() or (principal.role is Role.TENANT and principal.tenant_id == seller_tenant_id)


def _managed(principal: Principal, product: Product) -> Product:
    """The product if the caller is its seller or an admin; else as if it did not exist (unless public)."""
    if _may_manage(principal, product.seller_tenant_id):
        return product
    if product.orderable:
        raise PermissionDenied("only the product's seller or an administrator can do this")
    raise NotFound("product not found")


def _same_request(first: Order, *, product_id: str, pool_id: str) -> Order:
    """The first result of an idempotency key, if the retry asks for the same thing."""
    if first.product_id != product_id or first.pool_id != pool_id:
        raise InvalidArgument.for_field("idempotency_key", "was already used by this buyer for another order")
    return first


def _license_terms(request: trades_pb2.ListProductRequest) -> LicenseTerms:
    unknown = [FieldViolation(f"license.permitted_uses[{i}]", "is not a known use")
               for i, use in enumerate(request.license.permitted_uses) if use not in mapping.USE_FROM_PROTO]
    if unknown:
        raise InvalidArgument("the license terms are invalid", unknown)
    return mapping.license_terms_from_proto(request.license)


def _check_price_range(low: Money | None, high: Money | None, currency: str) -> None:
    violations = []
    for field, price in (("min_price", low), ("max_price", high)):
        if price is not None:
            violations += [v for v in price_violations(price, currency, field) if not v.field.endswith("amount_minor")]
            if price.amount_minor < 0:
                violations.append(FieldViolation(f"{field}.amount_minor", "must not be negative"))
    if not violations and low is not None and high is not None and high.amount_minor < low.amount_minor:
        violations.append(FieldViolation("max_price", "must not be below min_price"))
    if violations:
        raise InvalidArgument("the price range is invalid", violations)


def _millis(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _id_of(item: Any) -> str:
    for attribute in ("order_id", "pool_id", "product_id"):
        if hasattr(item, attribute):
            return getattr(item, attribute)
    raise TypeError(f"no id on {item!r}")
