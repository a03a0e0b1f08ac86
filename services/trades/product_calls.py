"""The data-product calls: listing, the compliance review, the catalog, delisting and relisting.

A seller lists a product; it waits for an administrator's review and is on offer once
approved and listed. Every reader sees a product on offer; the catalog shows those whose
seller may sell now (not suspended or offboarded). Other products are seen only by their
seller and admins.
"""

from __future__ import annotations

from typing import Any

from park.trades.v1 import trades_pb2
from parkos.auth import Principal, Role, require_role
from parkos.errors import FieldViolation, InvalidArgument, NotFound
from parkos.ids import new_id
from parkos.money import Money

from services.trades import ids, mapping, request_checks
from services.trades.authorization import (
    CATALOG_READERS,
    acting_for,
    checked_admin,
    checked_caller,
    managed,
    may_manage,
)
from services.trades.calls import TradesCalls
from services.trades.domain import LicenseTerms, Product, ProductDraft, ReviewDecision, price_violations
from services.trades.queries import CatalogQuery, ProductQuery
from services.trades.store import Transaction
from services.trades.tenant_directory import seller_party


class ProductCalls(TradesCalls):
    """ListProduct, GetProduct, ListProducts, SearchCatalog, ReviewProduct, DelistProduct, RelistProduct."""

    async def ListProduct(self, request: trades_pb2.ListProductRequest, context: Any) -> trades_pb2.Product:
        """A seller lists a data product; it waits for an administrator's review."""
        principal = checked_caller(request)
        seller_id = acting_for(principal, request.seller_tenant_id, "seller_tenant_id")
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
            sector_known = not draft.sector_id or await tx.knows_sector(draft.sector_id)
            product, event = Product.list_new(draft, product_id=product_id, seller=seller,
                                              currency=self._config.currency, now=now, sector_known=sector_known)
            await tx.add_product(product)
            tx.record(event)
            return product

        return mapping.product_to_proto(await self._transaction(list_product))

    async def GetProduct(self, request: trades_pb2.GetProductRequest, context: Any) -> trades_pb2.Product:
        """A product on offer to any reader (``orderable`` says whether its seller may sell now);
        any other only to its seller, admins and the tenants holding a license to it."""
        principal = checked_caller(request)
        require_role(principal, *CATALOG_READERS)
        product = await self._store.product(request_checks.product_id(request.product_id))
        if product is None or not await self._may_read(principal, product):
            raise NotFound("product not found")
        return mapping.product_to_proto(product)

    async def _may_read(self, principal: Principal, product: Product) -> bool:
        # A buyer keeps sight of what it licensed after a delisting: the data it uses is described there.
        if product.on_offer or may_manage(principal, product.seller_tenant_id):
            return True
        return principal.role is Role.TENANT and await self._store.holds_license(
            principal.tenant_id or "", product.product_id, self._clock())

    async def ListProducts(
        self, request: trades_pb2.ListProductsRequest, context: Any
    ) -> trades_pb2.ListProductsResponse:
        """A seller's own products in every state, listed or delisted; admins any seller's."""
        principal = checked_caller(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        seller_id = request_checks.optional_tenant_id(request.seller_tenant_id, "seller_tenant_id")
        if principal.role is Role.TENANT:
            seller_id = acting_for(principal, seller_id, "seller_tenant_id")
        status = request_checks.enum_value(request.status, mapping.PRODUCT_STATUS_FROM_PROTO, "status")
        listed = request_checks.enum_value(request.listing, mapping.LISTED_FROM_PROTO, "listing")
        query = ProductQuery(seller_tenant_id=seller_id, status=status, listed=listed)
        found, token = await self._page(principal, "ListProducts", query, request.page, self._store.list_products)
        return trades_pb2.ListProductsResponse(products=[mapping.product_to_proto(p) for p in found],
                                               page={"next_page_token": token})

    async def SearchCatalog(
        self, request: trades_pb2.SearchCatalogRequest, context: Any
    ) -> trades_pb2.SearchCatalogResponse:
        """Approved, listed products matching every filter given."""
        principal = checked_caller(request)
        require_role(principal, *CATALOG_READERS)
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
        principal = checked_admin(request)
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
        principal = checked_caller(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        product_id = request_checks.product_id(request.product_id)
        now = self._clock()

        async def delist(tx: Transaction) -> Product:
            product = managed(principal, await tx.product(product_id))
            product, event = product.delisted(request.reason, by_admin=principal.is_admin(), now=now)
            await tx.save_product(product)
            tx.record(event)
            return product

        return mapping.product_to_proto(await self._transaction(delist))

    async def RelistProduct(self, request: trades_pb2.RelistProductRequest, context: Any) -> trades_pb2.Product:
        """Admin, or an active seller that delisted it itself: back on the catalog."""
        principal = checked_caller(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        product_id = request_checks.product_id(request.product_id)
        now = self._clock()

        async def relist(tx: Transaction) -> Product:
            product = managed(principal, await tx.product(product_id))
            if not principal.is_admin():
                seller_party((await tx.tenants(product.seller_tenant_id)).get(product.seller_tenant_id), own=True)
            product, event = product.relisted(by_admin=principal.is_admin(), now=now)
            await tx.save_product(product)
            tx.record(event)
            return product

        return mapping.product_to_proto(await self._transaction(relist))


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
