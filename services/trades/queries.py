"""What the trades store's lists and searches are asked for: ListProducts, SearchCatalog,
ListOrders, ListPools, and the pool closer's page of due pools."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.trades.domain import ProductStatus
from services.trades.pools import PoolStatus
from services.trades.settlement import OrderStatus


@dataclass(frozen=True)
class ProductQuery:
    """ListProducts: a seller's products (empty: every seller), optionally of one status, and
    only listed (True) or only delisted (False) ones."""

    seller_tenant_id: str = ""
    status: ProductStatus | None = None
    listed: bool | None = None


@dataclass(frozen=True)
class CatalogQuery:
    """SearchCatalog: orderable products only (on offer, seller may sell); empty values do not filter."""

    sector_id: str = ""
    words: tuple[str, ...] = ()
    min_price_minor: int | None = None
    max_price_minor: int | None = None
    seller_tenant_id: str = ""
    delivery: str = ""


@dataclass(frozen=True)
class OrderQuery:
    """ListOrders: by buyer, by seller, or where a tenant is either (empty values do not filter)."""

    buyer_tenant_id: str = ""
    seller_tenant_id: str = ""
    either_tenant_id: str = ""
    status: OrderStatus | None = None
    product_id: str = ""

    def __post_init__(self) -> None:
        if self.either_tenant_id and (self.buyer_tenant_id or self.seller_tenant_id):
            raise ValueError("either_tenant_id lists both sides: it cannot be combined with a buyer or seller")


@dataclass(frozen=True)
class PoolQuery:
    product_id: str = ""
    seller_tenant_id: str = ""
    status: PoolStatus | None = None


@dataclass(frozen=True)
class DuePool:
    """A pool due to close, and where the next page of due pools starts."""

    closes_at: datetime
    pool_id: str
