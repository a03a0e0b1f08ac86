"""``parkctl products ...``: data products on the exchange, their compliance review and the catalog."""

from __future__ import annotations

from typing import Annotated

import typer
from park.common.v1 import money_pb2
from park.trades.v1 import events_pb2, trades_pb2

from parkctl.amounts import money_arg
from parkctl.output import enum_name, fail, money, show_many, show_one, when
from parkctl.session import PAGE_FLAGS, Session

app = typer.Typer(help="Data products: add, review, delist, search the catalog.", no_args_is_help=True)

DELIVERIES = {"dataset": events_pb2.DELIVERY_DATASET, "api": events_pb2.DELIVERY_DATA_API}
USES = {
    "analytics": trades_pb2.PERMITTED_USE_INTERNAL_ANALYTICS,
    "training": trades_pb2.PERMITTED_USE_MODEL_TRAINING,
    "integration": trades_pb2.PERMITTED_USE_PRODUCT_INTEGRATION,
    "research": trades_pb2.PERMITTED_USE_RESEARCH,
    "redistribution": trades_pb2.PERMITTED_USE_REDISTRIBUTION,
}
STATUSES = {"pending": trades_pb2.PRODUCT_STATUS_PENDING_REVIEW, "approved": trades_pb2.PRODUCT_STATUS_APPROVED,
            "rejected": trades_pb2.PRODUCT_STATUS_REJECTED}


def _session(ctx: typer.Context) -> Session:
    return ctx.obj


def status_of(product: trades_pb2.Product) -> str:
    status = enum_name(trades_pb2.ProductStatus, product.status, "PRODUCT_STATUS_")
    return status if product.listed else f"{status}, delisted"


def show_product(session: Session, product: trades_pb2.Product) -> None:
    uses = [enum_name(trades_pb2.PermittedUse, u, "PERMITTED_USE_") for u in product.license.permitted_uses]
    review = product.review
    show_one(session, product, [
        ("product", product.product_id), ("title", product.title), ("seller", product.seller_tenant_id),
        ("sector", product.sector_id), ("delivery", enum_name(events_pb2.Delivery, product.delivery, "DELIVERY_")),
        ("price", money(product.price)), ("license", f"{product.license.duration_days} days: {', '.join(uses)}"),
        ("classification", f"level {product.classification_level}"
                           + (", personal information" if product.contains_personal_information else "")),
        ("status", status_of(product)), ("orderable", "yes" if product.orderable else "no"),
        ("review", "" if not product.HasField("review") else
         f"{'approved' if review.approved else 'rejected'} by {review.reviewed_by} {when(review.reviewed_at)}"),
        ("review reasons", list(review.reasons)), ("security assessment", review.security_assessment_ref),
        ("delist reason", product.delist_reason), ("listed", when(product.listed_at)), ("version", product.version),
    ])


COLUMNS = [
    ("product", lambda p: p.product_id), ("title", lambda p: p.title), ("seller", lambda p: p.seller_tenant_id),
    ("sector", lambda p: p.sector_id), ("price", lambda p: money(p.price)),
    ("level", lambda p: p.classification_level), ("status", status_of),
]


@app.command()
def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Option(help="2-200 characters")],
    price: Annotated[str, typer.Option(help="e.g. 12000.00 (exact decimal)")],
    seller: Annotated[str, typer.Option("--seller", help="The selling tenant (admins; a tenant token sells as itself)")] = "",
    description: Annotated[str, typer.Option()] = "",
    sector: Annotated[str, typer.Option(help="e.g. sec-digital-energy; empty: the seller's sector")] = "",
    delivery: Annotated[str, typer.Option(help="dataset|api")] = "dataset",
    currency: Annotated[str, typer.Option()] = "CNY",
    license_days: Annotated[int, typer.Option("--license-days")] = 365,
    use: Annotated[list[str] | None, typer.Option("--use", help=f"{'|'.join(USES)} (repeat)")] = None,
    level: Annotated[int, typer.Option(help="Data classification level 1-4")] = 2,
    personal_information: Annotated[bool, typer.Option("--personal-information")] = False,
    quality: Annotated[str, typer.Option(help="Quality statement")] = "",
) -> None:
    """Offer a data product on the exchange; it waits for an administrator's review."""
    session = _session(ctx)
    session.flags = {
        "seller_tenant_id": "--seller", "title": "--title", "description": "--description", "sector_id": "--sector",
        "delivery": "--delivery", "price": "--price", "price.currency": "--currency",
        "license.duration_days": "--license-days", "license.permitted_uses": "--use",
        "classification_level": "--level", "quality_statement": "--quality",
    }
    if delivery not in DELIVERIES:
        fail(f"--delivery must be one of {', '.join(DELIVERIES)}")
    uses = use or ["analytics"]
    unknown = [u for u in uses if u not in USES]
    if unknown:
        fail(f"--use must be among {', '.join(USES)} (not {', '.join(unknown)})")
    request = trades_pb2.ListProductRequest(
        seller_tenant_id=seller, title=title, description=description, sector_id=sector,
        delivery=DELIVERIES[delivery], price=money_arg(price, currency, "--price"),
        license={"duration_days": license_days, "permitted_uses": [USES[u] for u in uses]},
        classification_level=level, contains_personal_information=personal_information, quality_statement=quality,
    )
    show_product(session, session.trades().ListProduct(request, timeout=session.timeout))


@app.command()
def get(ctx: typer.Context, product_id: str) -> None:
    """Show one product."""
    session = _session(ctx)
    request = trades_pb2.GetProductRequest(product_id=product_id)
    show_product(session, session.trades().GetProduct(request, timeout=session.timeout))


@app.command("list")
def list_products(
    ctx: typer.Context,
    seller: Annotated[str, typer.Option("--seller")] = "",
    status: Annotated[str, typer.Option(help="pending|approved|rejected|delisted")] = "",
    page_size: Annotated[int, typer.Option("--page-size")] = 50,
    page_token: Annotated[str, typer.Option("--page-token")] = "",
) -> None:
    """Products in every state: a seller's own, or (admins) anyone's. `pending` is the review queue,
    `delisted` the products taken off the market."""
    session = _session(ctx)
    session.flags = {"seller_tenant_id": "--seller", "status": "--status", **PAGE_FLAGS}
    if status and status not in (*STATUSES, "delisted"):
        fail(f"--status must be one of {', '.join(STATUSES)}, delisted")
    listing = trades_pb2.LISTING_DELISTED if status == "delisted" else trades_pb2.LISTING_UNSPECIFIED
    request = trades_pb2.ListProductsRequest(seller_tenant_id=seller, status=STATUSES.get(status, 0), listing=listing,
                                             page={"page_size": page_size, "page_token": page_token})
    response = session.trades().ListProducts(request, timeout=session.timeout)
    show_many(session, response, response.products, COLUMNS, title="Products")


@app.command()
def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Words that must all appear in the title or description")] = "",
    sector: Annotated[str, typer.Option()] = "",
    seller: Annotated[str, typer.Option()] = "",
    min_price: Annotated[str, typer.Option("--min-price")] = "",
    max_price: Annotated[str, typer.Option("--max-price")] = "",
    currency: Annotated[str, typer.Option()] = "CNY",
    delivery: Annotated[str, typer.Option(help="dataset|api")] = "",
    page_size: Annotated[int, typer.Option("--page-size")] = 50,
    page_token: Annotated[str, typer.Option("--page-token")] = "",
) -> None:
    """The catalog buyers see: approved, listed products."""
    session = _session(ctx)
    session.flags = {"sector_id": "--sector", "seller_tenant_id": "--seller", "min_price": "--min-price",
                     "max_price": "--max-price", "delivery": "--delivery", **PAGE_FLAGS}
    if delivery and delivery not in DELIVERIES:
        fail(f"--delivery must be one of {', '.join(DELIVERIES)}")
    request = trades_pb2.SearchCatalogRequest(text=text, sector_id=sector, seller_tenant_id=seller,
                                              delivery=DELIVERIES.get(delivery, 0),
                                              page={"page_size": page_size, "page_token": page_token})
    if min_price:
        request.min_price.CopyFrom(money_pb2.Money(**money_arg(min_price, currency, "--min-price")))
    if max_price:
        request.max_price.CopyFrom(money_pb2.Money(**money_arg(max_price, currency, "--max-price")))
    response = session.trades().SearchCatalog(request, timeout=session.timeout)
    show_many(session, response, response.products, COLUMNS[:-1], title="Catalog")


@app.command()
def review(
    ctx: typer.Context,
    product_id: str,
    decision: Annotated[str, typer.Argument(metavar="DECISION", help="approve|reject")],
    reason: Annotated[list[str] | None, typer.Option("--reason", help="Required to reject (repeat)")] = None,
    assessment: Annotated[str, typer.Option(help="Security assessment reference (level 4 or personal data)")] = "",
    level: Annotated[int, typer.Option(help="Raise the classification level (0: as declared)")] = 0,
) -> None:
    """Admin: approve or reject a product awaiting review."""
    session = _session(ctx)
    session.flags = {"reasons": "--reason", "security_assessment_ref": "--assessment", "classification_level": "--level"}
    decisions = {"approve": trades_pb2.REVIEW_DECISION_APPROVE, "reject": trades_pb2.REVIEW_DECISION_REJECT}
    if decision not in decisions:
        fail("DECISION must be approve or reject")
    request = trades_pb2.ReviewProductRequest(product_id=product_id, decision=decisions[decision], reasons=reason or [],
                                              security_assessment_ref=assessment, classification_level=level)
    show_product(session, session.trades().ReviewProduct(request, timeout=session.timeout))


@app.command()
def delist(ctx: typer.Context, product_id: str, reason: Annotated[str, typer.Option(help="Required")]) -> None:
    """Take a product off the catalog (admin or its seller)."""
    session = _session(ctx)
    session.flags = {"reason": "--reason"}
    request = trades_pb2.DelistProductRequest(product_id=product_id, reason=reason)
    show_product(session, session.trades().DelistProduct(request, timeout=session.timeout))


@app.command()
def relist(ctx: typer.Context, product_id: str) -> None:
    """Put a delisted product back on the catalog."""
    session = _session(ctx)
    request = trades_pb2.RelistProductRequest(product_id=product_id)
    show_product(session, session.trades().RelistProduct(request, timeout=session.timeout))
