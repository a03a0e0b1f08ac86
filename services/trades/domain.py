"""Data products and their compliance review: the exchange's catalog.

Pure Python: no gRPC, Mongo or Kafka. Entities are immutable; every change returns the
changed entity with the domain event it causes, which the store writes to the outbox in
the same transaction. Field names in errors are the request's field names.

A product is listed PENDING_REVIEW; an administrator approves or rejects it (approving
level-4 data or data with personal information needs a recorded security assessment); it
can be delisted and relisted. Only an approved, listed product can be ordered.

Orders and settlement live in ``settlement.py``, demand pools in ``pools.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from parkos.errors import FailedPrecondition, FieldViolation, InvalidArgument
from parkos.money import Money

from services.trades.tenant_directory import KnownTenant, seller_party

TITLE_MIN, TITLE_MAX = 2, 200
DESCRIPTION_MAX = 4000
QUALITY_MAX = 2000
REASON_MAX = 500
REASONS_MAX = 10
ASSESSMENT_REF_MAX = 128
LICENSE_DAYS_MAX = 3650
LEVEL_MIN, LEVEL_MAX = 1, 4
# 100 million yuan: far above any data product the park trades (loans are < 10 million).
PRICE_MAX_MINOR = 10_000_000_000
_SECTOR = re.compile(r"sec-[a-z0-9]+(?:-[a-z0-9]+)*")
SECTOR_MAX = 64
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tabs and newlines are fine in long text


class ProductStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"


# Why relisting a product that was never delisted changes nothing, by review status.
_ALREADY_LISTED = {
    ProductStatus.APPROVED: "the product is listed already",
    ProductStatus.PENDING_REVIEW: "the product was never delisted; it is waiting for its review and is on offer once approved",
    ProductStatus.REJECTED: "the product was never delisted; it was rejected in review, and only a new listing can be offered",
}


class Delivery(StrEnum):
    DATASET = "dataset"
    DATA_API = "data_api"


class PermittedUse(StrEnum):
    INTERNAL_ANALYTICS = "internal_analytics"
    MODEL_TRAINING = "model_training"
    PRODUCT_INTEGRATION = "product_integration"
    RESEARCH = "research"
    REDISTRIBUTION = "redistribution"


@dataclass(frozen=True)
class LicenseTerms:
    """What a buyer may do with the data, and for how long after the order."""

    duration_days: int
    permitted_uses: tuple[PermittedUse, ...]

    def violations(self, prefix: str = "license.") -> list[FieldViolation]:
        found = []
        if not 1 <= self.duration_days <= LICENSE_DAYS_MAX:
            found.append(FieldViolation(f"{prefix}duration_days", f"must be within 1..{LICENSE_DAYS_MAX}"))
        if not self.permitted_uses:
            found.append(FieldViolation(f"{prefix}permitted_uses", "at least one permitted use is required"))
        elif len(set(self.permitted_uses)) != len(self.permitted_uses):
            found.append(FieldViolation(f"{prefix}permitted_uses", "must not repeat a use"))
        return found


@dataclass(frozen=True)
class Review:
    """An administrator's compliance decision."""

    approved: bool
    reasons: tuple[str, ...]
    security_assessment_ref: str
    reviewed_by: str
    reviewed_at: datetime


@dataclass(frozen=True)
class ReviewDecision:
    """What the reviewing administrator submits."""

    approve: bool
    reasons: Sequence[str] = ()
    security_assessment_ref: str = ""
    # 0 keeps the level the seller declared; a review may raise it, never lower it.
    classification_level: int = 0


@dataclass(frozen=True)
class ProductDraft:
    """What a seller submits to list a product (``price`` and ``delivery`` None when absent)."""

    title: str
    description: str
    sector_id: str
    delivery: Delivery | None
    price: Money | None
    license: LicenseTerms
    classification_level: int
    contains_personal_information: bool
    quality_statement: str

    def violations(self, currency: str) -> list[FieldViolation]:
        """Every problem of the draft, each naming its request field."""
        found = text_violations("title", self.title, minimum=TITLE_MIN, maximum=TITLE_MAX)
        found += text_violations("description", self.description, maximum=DESCRIPTION_MAX, multiline=True)
        found += text_violations("quality_statement", self.quality_statement, maximum=QUALITY_MAX, multiline=True)
        if self.sector_id and (len(self.sector_id) > SECTOR_MAX or not _SECTOR.fullmatch(self.sector_id)):
            found.append(FieldViolation("sector_id", "is not a sector id (e.g. sec-digital-energy)"))
        if self.delivery is None:
            found.append(FieldViolation("delivery", "is required: dataset or data API"))
        found += price_violations(self.price, currency, "price")
        found += self.license.violations()
        if not LEVEL_MIN <= self.classification_level <= LEVEL_MAX:
            found.append(FieldViolation("classification_level", f"must be within {LEVEL_MIN}..{LEVEL_MAX}"))
        return found


@dataclass(frozen=True)
class Product:
    """A data product on the exchange."""

    product_id: str
    seller_tenant_id: str
    title: str
    description: str
    sector_id: str
    delivery: Delivery
    price: Money
    license: LicenseTerms
    classification_level: int
    contains_personal_information: bool
    quality_statement: str
    status: ProductStatus
    listed: bool
    review: Review | None
    delist_reason: str
    delisted_by_admin: bool
    listed_at: datetime
    updated_at: datetime
    version: int = 1
    # whether its seller may sell now (kept by the tenant directory's events): a suspended or
    # offboarded seller's products leave the catalog, and come back when it is active again
    seller_may_sell: bool = True

    @classmethod
    def list_new(
        cls, draft: ProductDraft, *, product_id: str, seller: KnownTenant | None, currency: str, now: datetime,
        sector_known: bool = True,
    ) -> tuple[Product, ProductListed]:
        """A new PENDING_REVIEW product of an active seller (the caller checked who may act for it).

        ``sector_known``: whether the park defined the draft's sector (when it names one).
        """
        violations = draft.violations(currency)
        if draft.sector_id and not sector_known and not any(v.field == "sector_id" for v in violations):
            violations.append(FieldViolation("sector_id", "is not a sector of the park"))
        if violations:
            raise InvalidArgument("the product listing is invalid", violations)
        placement = seller_party(seller, own=True)
        assert draft.delivery is not None and draft.price is not None
        product = cls(
            product_id=product_id,
            seller_tenant_id=placement.tenant_id,
            title=draft.title.strip(),
            description=draft.description.strip(),
            sector_id=draft.sector_id or placement.sector_id,
            delivery=draft.delivery,
            price=draft.price,
            license=draft.license,
            classification_level=draft.classification_level,
            contains_personal_information=draft.contains_personal_information,
            quality_statement=draft.quality_statement.strip(),
            status=ProductStatus.PENDING_REVIEW,
            listed=True,
            review=None,
            delist_reason="",
            delisted_by_admin=False,
            listed_at=now,
            updated_at=now,
        )
        return product, ProductListed(product)

    @property
    def on_offer(self) -> bool:
        """Approved and listed: every reader may see it (whether or not its seller may sell now)."""
        return self.status is ProductStatus.APPROVED and self.listed

    @property
    def orderable(self) -> bool:
        """On offer by a seller who may sell: buyers can order it now (the catalog shows these)."""
        return self.on_offer and self.seller_may_sell

    @property
    def needs_security_assessment(self) -> bool:
        return self.classification_level >= LEVEL_MAX or self.contains_personal_information

    def ensure_orderable(self) -> None:
        """FAILED_PRECONDITION unless the product is approved and listed."""
        if self.status is not ProductStatus.APPROVED:
            raise FailedPrecondition(f"the product is {self.status.replace('_', ' ')}: only approved products can be ordered")
        if not self.listed:
            raise FailedPrecondition("the product is delisted")

    def reviewed(self, decision: ReviewDecision, *, actor: str, now: datetime) -> tuple[Product, ProductReviewed]:
        """Approve or reject a product awaiting review."""
        violations = _decision_violations(decision, self.classification_level)
        if violations:
            raise InvalidArgument("the review is invalid", violations)
        if self.status is not ProductStatus.PENDING_REVIEW:
            raise FailedPrecondition(f"the product was already reviewed ({self.status})")
        level = decision.classification_level or self.classification_level
        reviewed_as = replace(self, classification_level=level)
        assessment = decision.security_assessment_ref.strip()
        if decision.approve and reviewed_as.needs_security_assessment and not assessment:
            raise InvalidArgument.for_field(
                "security_assessment_ref",
                "is required to approve level-4 data or data with personal information",
            )
        review = Review(
            approved=decision.approve,
            reasons=tuple(reason.strip() for reason in decision.reasons),
            security_assessment_ref=assessment,
            reviewed_by=actor,
            reviewed_at=now,
        )
        changed = replace(
            reviewed_as,
            status=ProductStatus.APPROVED if decision.approve else ProductStatus.REJECTED,
            review=review,
            updated_at=now,
            version=self.version + 1,
        )
        return changed, ProductReviewed(changed)

    def delisted(self, reason: str, *, by_admin: bool, now: datetime) -> tuple[Product, ProductDelistChanged]:
        """Off the catalog: no new orders or pools."""
        violations = text_violations("reason", reason, minimum=1, maximum=REASON_MAX)
        if violations:
            raise InvalidArgument("a reason is required to delist", violations)
        if not self.listed:
            raise FailedPrecondition("the product is already delisted")
        changed = replace(
            self, listed=False, delist_reason=reason.strip(), delisted_by_admin=by_admin,
            updated_at=now, version=self.version + 1,
        )
        return changed, ProductDelistChanged(changed)

    def relisted(self, *, by_admin: bool, now: datetime) -> tuple[Product, ProductDelistChanged]:
        """Back on the catalog; a seller cannot undo an administrator's delisting."""
        if self.listed:
            raise FailedPrecondition(_ALREADY_LISTED[self.status])
        if self.delisted_by_admin and not by_admin:
            raise FailedPrecondition("an administrator delisted this product: only an administrator can relist it")
        changed = replace(
            self, listed=True, delist_reason="", delisted_by_admin=False, updated_at=now, version=self.version + 1
        )
        return changed, ProductDelistChanged(changed)


@dataclass(frozen=True)
class ProductListed:
    product: Product


@dataclass(frozen=True)
class ProductReviewed:
    product: Product


@dataclass(frozen=True)
class ProductDelistChanged:
    """Delisted (``product.listed`` False) or relisted (True): one event type, the newest tells."""

    product: Product


def price_violations(price: Money | None, currency: str, field: str) -> list[FieldViolation]:
    """A price must be in the park's currency, above zero and not absurd."""
    if price is None:
        return [FieldViolation(field, "is required")]
    if price.currency != currency:
        return [FieldViolation(f"{field}.currency", f"must be {currency}, the park's currency")]
    if price.amount_minor <= 0:
        return [FieldViolation(f"{field}.amount_minor", "must be more than zero")]
    if price.amount_minor > PRICE_MAX_MINOR:
        return [FieldViolation(f"{field}.amount_minor", f"must be at most {Money(PRICE_MAX_MINOR, currency)}")]
    return []


def text_violations(
    field: str, value: str, *, maximum: int, minimum: int = 0, multiline: bool = False
) -> list[FieldViolation]:
    """Length and control-character checks of a free-text field (after trimming blanks)."""
    text = value.strip()
    if len(text) < minimum:
        return [FieldViolation(field, "is required" if not text else f"must be at least {minimum} characters")]
    if len(text) > maximum:
        return [FieldViolation(field, f"must be at most {maximum} characters")]
    if _CONTROL.search(text) or (not multiline and ("\n" in text or "\t" in text)):
        return [FieldViolation(field, "must not contain control characters")]
    return []


def _decision_violations(decision: ReviewDecision, declared_level: int) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    if not decision.approve and not [r for r in decision.reasons if r.strip()]:
        found.append(FieldViolation("reasons", "at least one reason is required to reject"))
    if len(decision.reasons) > REASONS_MAX:
        found.append(FieldViolation("reasons", f"at most {REASONS_MAX} reasons"))
    for index, reason in enumerate(decision.reasons):
        found += text_violations(f"reasons[{index}]", reason, minimum=1, maximum=REASON_MAX)
    if len(decision.security_assessment_ref) > ASSESSMENT_REF_MAX:
        found.append(FieldViolation("security_assessment_ref", f"must be at most {ASSESSMENT_REF_MAX} characters"))
    level = decision.classification_level
    if level and not LEVEL_MIN <= level <= LEVEL_MAX:
        found.append(FieldViolation("classification_level", f"must be 0 (as declared) or within {LEVEL_MIN}..{LEVEL_MAX}"))
    elif level and level < declared_level:
        found.append(FieldViolation("classification_level", f"a review cannot lower the declared level {declared_level}"))
    return found
