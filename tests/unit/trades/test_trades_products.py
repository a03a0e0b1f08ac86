"""Listing and compliance review of data products (pure domain)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from parkos.errors import FailedPrecondition, InvalidArgument
from parkos.money import Money

from services.trades.domain import PRICE_MAX_MINOR, LicenseTerms, Product, ProductStatus, ReviewDecision
from services.trades.tenant_directory import TenantStatus
from tests.unit.trades.trades_builders import NOW, SELLER, approved, draft, listed, tenant


def fields_of(error: InvalidArgument) -> set[str]:
    return {violation.field for violation in error.violations}


def test_a_new_product_waits_for_review_and_cannot_be_ordered() -> None:
    product, event = Product.list_new(draft(), product_id="prd_1", seller=SELLER, currency="CNY", now=NOW)
    assert product.status is ProductStatus.PENDING_REVIEW and product.listed and not product.orderable
    assert product.sector_id == SELLER.sector_id, "an empty sector means the seller's own"
    assert event.product is product
    with pytest.raises(FailedPrecondition, match="pending review"):
        product.ensure_orderable()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "x"}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": "bad\ntitle"}, "title"),
        ({"description": "d" * 4001}, "description"),
        ({"sector_id": "Energy!"}, "sector_id"),
        ({"delivery": None}, "delivery"),
        ({"price": None}, "price"),
        ({"price": Money(-1, "CNY")}, "price.amount_minor"),
        ({"price": Money(0, "CNY")}, "price.amount_minor"),
        ({"price": Money(PRICE_MAX_MINOR + 1, "CNY")}, "price.amount_minor"),
        ({"price": Money(100, "USD")}, "price.currency"),
        ({"license": LicenseTerms(0, ())}, "license.duration_days"),
        ({"classification_level": 0}, "classification_level"),
        ({"classification_level": 5}, "classification_level"),
    ],
)
def test_bad_listings_name_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Product.list_new(draft(**overrides), product_id="prd_1", seller=SELLER, currency="CNY", now=NOW)
    assert field in fields_of(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as caught:
        Product.list_new(draft(title="", price=None, license=LicenseTerms(5000, ())), product_id="prd_1",
                         seller=SELLER, currency="CNY", now=NOW)
    assert fields_of(caught.value) == {"title", "price", "license.duration_days", "license.permitted_uses"}


@pytest.mark.parametrize("status", [TenantStatus.PENDING, TenantStatus.SUSPENDED, TenantStatus.OFFBOARDED])
def test_only_an_active_seller_lists(status: TenantStatus) -> None:
    with pytest.raises(FailedPrecondition, match=str(status)):
        Product.list_new(draft(), product_id="prd_1", seller=tenant("ten_seller", status), currency="CNY", now=NOW)
    with pytest.raises(FailedPrecondition, match="not known"):
        Product.list_new(draft(), product_id="prd_1", seller=None, currency="CNY", now=NOW)


def test_a_product_names_a_sector_of_the_park_or_takes_its_sellers() -> None:
    with pytest.raises(InvalidArgument) as caught:
        Product.list_new(draft(sector_id="sec-nope"), product_id="prd_1", seller=SELLER, currency="CNY", now=NOW,
                         sector_known=False)
    assert fields_of(caught.value) == {"sector_id"}
    product, _ = Product.list_new(draft(sector_id=""), product_id="prd_1", seller=SELLER, currency="CNY", now=NOW,
                                  sector_known=False)
    assert product.sector_id == SELLER.sector_id


def test_a_product_whose_seller_may_not_sell_stays_on_offer_but_cannot_be_ordered() -> None:
    product = replace(approved(), seller_may_sell=False)
    assert product.on_offer and not product.orderable
    assert replace(product, seller_may_sell=True).orderable
    assert not replace(product, listed=False).on_offer


def test_approval_makes_a_product_orderable_and_a_second_review_is_refused() -> None:
    product, event = listed().reviewed(ReviewDecision(approve=True), actor="admin:a", now=NOW)
    assert product.orderable and product.review is not None and product.review.reviewed_by == "admin:a"
    assert event.product.version == 2
    with pytest.raises(FailedPrecondition, match="already reviewed"):
        product.reviewed(ReviewDecision(approve=False, reasons=("late",)), actor="admin:b", now=NOW)


@pytest.mark.parametrize("overrides", [{"classification_level": 4}, {"contains_personal_information": True}])
def test_level_four_or_personal_data_needs_a_security_assessment(overrides: dict) -> None:
    product = listed(**overrides)
    with pytest.raises(InvalidArgument) as caught:
        product.reviewed(ReviewDecision(approve=True), actor="admin:a", now=NOW)
    assert fields_of(caught.value) == {"security_assessment_ref"}
    approved_, _ = product.reviewed(ReviewDecision(approve=True, security_assessment_ref="SA-7"), actor="a", now=NOW)
    assert approved_.orderable and approved_.review.security_assessment_ref == "SA-7"


def test_a_review_may_raise_the_level_which_then_needs_an_assessment() -> None:
    with pytest.raises(InvalidArgument) as caught:
        listed().reviewed(ReviewDecision(approve=True, classification_level=4), actor="a", now=NOW)
    assert fields_of(caught.value) == {"security_assessment_ref"}
    with pytest.raises(InvalidArgument) as caught:
        listed(classification_level=3).reviewed(ReviewDecision(approve=True, classification_level=2), actor="a", now=NOW)
    assert fields_of(caught.value) == {"classification_level"}


def test_a_rejection_needs_reasons_and_keeps_the_product_off_the_market() -> None:
    with pytest.raises(InvalidArgument) as caught:
        listed().reviewed(ReviewDecision(approve=False), actor="a", now=NOW)
    assert fields_of(caught.value) == {"reasons"}
    rejected, _ = listed().reviewed(ReviewDecision(approve=False, reasons=("no provenance",)), actor="a", now=NOW)
    assert rejected.status is ProductStatus.REJECTED and not rejected.orderable
    with pytest.raises(FailedPrecondition, match="rejected"):
        rejected.ensure_orderable()


def test_delist_and_relist() -> None:
    product = approved()
    delisted, event = product.delisted("data source retired", by_admin=False, now=NOW)
    assert not delisted.orderable and not event.product.listed
    with pytest.raises(FailedPrecondition, match="delisted"):
        delisted.ensure_orderable()
    with pytest.raises(FailedPrecondition, match="already delisted"):
        delisted.delisted("again", by_admin=False, now=NOW)
    relisted, event = delisted.relisted(by_admin=False, now=NOW)
    assert relisted.orderable and event.product.listed and relisted.version == product.version + 2
    with pytest.raises(InvalidArgument):
        product.delisted("  ", by_admin=True, now=NOW)


def test_only_an_admin_undoes_an_admins_delisting() -> None:
    delisted, _ = approved().delisted("compliance hold", by_admin=True, now=NOW)
    with pytest.raises(FailedPrecondition, match="administrator"):
        delisted.relisted(by_admin=False, now=NOW)
    assert delisted.relisted(by_admin=True, now=NOW)[0].orderable


@pytest.mark.parametrize(("decision", "says"), [
    (None, "waiting for its review"),
    (ReviewDecision(approve=False, reasons=("no provenance",)), "rejected in review"),
    (ReviewDecision(approve=True), "listed already"),
])
def test_relisting_a_product_never_delisted_says_why_nothing_changes(decision: ReviewDecision | None, says: str) -> None:
    product = listed() if decision is None else listed().reviewed(decision, actor="a", now=NOW)[0]
    with pytest.raises(FailedPrecondition, match=says):
        product.relisted(by_admin=True, now=NOW)
