"""The park's registry of enterprises: reference data, tenants and their lifecycle.

Pure Python: no gRPC, Mongo or Kafka. Entities are immutable; every change returns the
changed entity together with the domain event it causes, which the store writes to the
outbox in the same transaction. Field names in errors are the request's field names
(``credit_code``, ``contacts[0].email``) so callers can point at them.

Credentials live in ``credentials.py`` and declared revenue in ``revenue.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from parkos.errors import FailedPrecondition, FieldViolation, InvalidArgument

from parkos import credit_code
from parkos.wording import with_article

LEGAL_NAME_MIN, LEGAL_NAME_MAX = 2, 150
DESCRIPTION_MAX = 2000
CONTACTS_MAX = 10
CONTACT_NAME_MAX = 64
CONTACT_TITLE_MAX = 64
EMAIL_MAX = 254
REASON_MAX = 500
TRADE_FEE_MAX_BPS = 10_000
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 \-]{4,30}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TenantStatus(StrEnum):
    """Where a tenant is in its life in the park."""

    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    OFFBOARDED = "offboarded"


# pending -> active -> suspended -> active | offboarded
ALLOWED_TRANSITIONS: dict[TenantStatus, frozenset[TenantStatus]] = {
    TenantStatus.PENDING: frozenset({TenantStatus.ACTIVE}),
    TenantStatus.ACTIVE: frozenset({TenantStatus.SUSPENDED}),
    TenantStatus.SUSPENDED: frozenset({TenantStatus.ACTIVE, TenantStatus.OFFBOARDED}),
    TenantStatus.OFFBOARDED: frozenset(),
}
# Changes that must say why.
_NEEDS_REASON = frozenset({TenantStatus.SUSPENDED, TenantStatus.OFFBOARDED})
EDITABLE_PROFILE_FIELDS = ("contacts", "description")


@dataclass(frozen=True)
class SubPark:
    """The headquarters base or a themed sub-park, with its trade-fee rate."""

    sub_park_id: str
    name: str
    theme: str
    trade_fee_bps: int
    headquarters: bool = False

    def defined(self, *, actor: str, now: datetime) -> SubParkDefined:
        """The event announcing this sub-park as it is (seeded, or its rate changed)."""
        return SubParkDefined(self, defined_by=actor, defined_at=now)

    def with_trade_fee(self, trade_fee_bps: int, *, actor: str, now: datetime) -> tuple[SubPark, SubParkDefined]:
        """The sub-park at a new trade-fee rate (0..10000 basis points), and its event."""
        changed = replace(self, trade_fee_bps=checked_trade_fee(trade_fee_bps))
        return changed, changed.defined(actor=actor, now=now)


def checked_trade_fee(trade_fee_bps: int) -> int:
    """A trade-fee rate in basis points of gross: 0..10000, or INVALID_ARGUMENT on ``trade_fee_bps``."""
    if type(trade_fee_bps) is not int or not 0 <= trade_fee_bps <= TRADE_FEE_MAX_BPS:
        raise InvalidArgument.for_field("trade_fee_bps", f"must be within 0..{TRADE_FEE_MAX_BPS} basis points")
    return trade_fee_bps


@dataclass(frozen=True)
class SubParkDefined:
    """A sub-park as it now is: first seeded, or its trade-fee rate changed (the trades service's fee)."""

    sub_park: SubPark
    defined_by: str
    defined_at: datetime


@dataclass(frozen=True)
class Sector:
    """A digital-economy sub-sector."""

    sector_id: str
    name: str

    def defined(self, *, now: datetime) -> SectorDefined:
        """The event announcing this sector (when it is seeded)."""
        return SectorDefined(self, defined_at=now)


@dataclass(frozen=True)
class SectorDefined:
    """A sector of the park, as seeded (the trades service files data products under it)."""

    sector: Sector
    defined_at: datetime


class ReferenceData:
    """The sub-parks and sectors a tenant can be registered in."""

    def __init__(self, sub_parks: Iterable[SubPark], sectors: Iterable[Sector]) -> None:
        self.sub_parks = tuple(sub_parks)
        self.sectors = tuple(sectors)
        self._sub_parks = {sub_park.sub_park_id: sub_park for sub_park in self.sub_parks}
        self._sectors = {sector.sector_id: sector for sector in self.sectors}
        _check_reference_data(self)

    def sub_park(self, sub_park_id: str, field: str = "sub_park_id") -> SubPark:
        """The sub-park with this id; InvalidArgument naming ``field`` when there is none."""
        found = self._sub_parks.get(sub_park_id)
        if found is None:
            raise InvalidArgument.for_field(field, _unknown("sub-park", sub_park_id))
        return found

    def sector(self, sector_id: str, field: str = "sector_id") -> Sector:
        """The sector with this id; InvalidArgument naming ``field`` when there is none."""
        found = self._sectors.get(sector_id)
        if found is None:
            raise InvalidArgument.for_field(field, _unknown("sector", sector_id))
        return found


@dataclass(frozen=True)
class Contact:
    """A person to reach at the tenant."""

    name: str
    title: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Tenant:
    """An enterprise registered in the park."""

    tenant_id: str
    legal_name: str
    credit_code: str
    sub_park_id: str
    sector_id: str
    contacts: tuple[Contact, ...]
    description: str
    status: TenantStatus
    registered_at: datetime
    updated_at: datetime
    version: int = 1

    @classmethod
    def register(
        cls,
        application: TenantApplication,
        *,
        tenant_id: str,
        reference: ReferenceData,
        actor: str,
        now: datetime,
    ) -> tuple[Tenant, TenantRegistered]:
        """A new PENDING tenant from a checked application, and the event announcing it."""
        violations = application.violations(reference)
        if violations:
            raise InvalidArgument("the tenant application is invalid", violations)
        tenant = cls(
            tenant_id=tenant_id,
            legal_name=application.legal_name.strip(),
            credit_code=credit_code.normalize(application.credit_code),
            sub_park_id=application.sub_park_id,
            sector_id=application.sector_id,
            contacts=tuple(_tidy_contact(contact) for contact in application.contacts),
            description=application.description.strip(),
            status=TenantStatus.PENDING,
            registered_at=now,
            updated_at=now,
        )
        return tenant, TenantRegistered(tenant, registered_by=actor)

    def change_status(
        self, target: TenantStatus, *, reason: str, actor: str, now: datetime
    ) -> tuple[Tenant, TenantStatusChanged]:
        """Move to ``target`` if the lifecycle allows it (else FAILED_PRECONDITION)."""
        if target not in ALLOWED_TRANSITIONS[self.status]:
            raise FailedPrecondition(f"{with_article(self.status)} tenant cannot become {target}")
        reason = reason.strip()
        if len(reason) > REASON_MAX:
            raise InvalidArgument.for_field("reason", f"must be at most {REASON_MAX} characters")
        if target in _NEEDS_REASON and not reason:
            raise InvalidArgument.for_field("reason", f"is required to make a tenant {target}")
        changed = replace(self, status=target, updated_at=now, version=self.version + 1)
        return changed, TenantStatusChanged(changed, self.status, target, reason, actor)

    def update_profile(
        self, patch: ProfilePatch, *, actor: str, now: datetime
    ) -> tuple[Tenant, TenantProfileUpdated | None]:
        """Apply ``patch``; no event (and no new version) when nothing actually changes."""
        if self.status is TenantStatus.OFFBOARDED:
            raise FailedPrecondition("an offboarded tenant's profile can no longer change")
        violations = patch.violations()
        if violations:
            raise InvalidArgument("the profile update is invalid", violations)
        changes: dict[str, object] = {}
        if patch.contacts is not None:
            contacts = tuple(_tidy_contact(contact) for contact in patch.contacts)
            if contacts != self.contacts:
                changes["contacts"] = contacts
        if patch.description is not None and patch.description.strip() != self.description:
            changes["description"] = patch.description.strip()
        if not changes:
            return self, None
        changed = replace(self, **changes, updated_at=now, version=self.version + 1)
        return changed, TenantProfileUpdated(changed, tuple(sorted(changes)), actor)

    def ensure_may_hold_credentials(self) -> None:
        """Suspended and offboarded tenants get no new credentials."""
        if self.status not in (TenantStatus.PENDING, TenantStatus.ACTIVE):
            raise FailedPrecondition(f"{with_article(self.status)} tenant cannot be issued credentials")

    def ensure_may_report_revenue(self) -> None:
        """Only tenants operating in the park (active, or suspended for now) declare revenue."""
        if self.status not in (TenantStatus.ACTIVE, TenantStatus.SUSPENDED):
            raise FailedPrecondition(f"{with_article(self.status)} tenant cannot report revenue")


@dataclass(frozen=True)
class TenantApplication:
    """What an administrator submits to register an enterprise."""

    legal_name: str
    credit_code: str
    sub_park_id: str
    sector_id: str
    contacts: Sequence[Contact]
    description: str = ""

    def violations(self, reference: ReferenceData) -> list[FieldViolation]:
        """Every problem of the application, each naming its field."""
        found = _legal_name_violations(self.legal_name)
        code_problem = credit_code.problem(credit_code.normalize(self.credit_code))
        if code_problem:
            found.append(FieldViolation("credit_code", code_problem))
        for field, check in (("sub_park_id", reference.sub_park), ("sector_id", reference.sector)):
            try:
                check(getattr(self, field))
            except InvalidArgument as error:
                found.extend(error.violations)
        if not self.contacts:
            found.append(FieldViolation("contacts", "at least one contact is required"))
        found.extend(_contacts_violations(self.contacts))
        found.extend(_description_violations(self.description))
        return found


@dataclass(frozen=True)
class ProfilePatch:
    """The editable part of a profile; None leaves a field as it is."""

    contacts: Sequence[Contact] | None = None
    description: str | None = None

    def violations(self) -> list[FieldViolation]:
        """Every problem of the patch, each naming its field."""
        found: list[FieldViolation] = []
        if self.contacts is not None:
            if not self.contacts:
                found.append(FieldViolation("tenant.contacts", "at least one contact is required"))
            found.extend(_contacts_violations(self.contacts, prefix="tenant."))
        if self.description is not None:
            found.extend(_description_violations(self.description, prefix="tenant."))
        return found


@dataclass(frozen=True)
class TenantRegistered:
    """A tenant was registered (pending)."""

    tenant: Tenant
    registered_by: str


@dataclass(frozen=True)
class TenantProfileUpdated:
    """A tenant's contacts or description changed."""

    tenant: Tenant
    changed_fields: tuple[str, ...]
    updated_by: str


@dataclass(frozen=True)
class TenantStatusChanged:
    """A tenant moved in its lifecycle."""

    tenant: Tenant
    from_status: TenantStatus
    to_status: TenantStatus
    reason: str
    changed_by: str


def text_violations(field: str, value: str, *, maximum: int, minimum: int = 0) -> list[FieldViolation]:
    """Length and control-character checks of a free-text field (after trimming blanks)."""
    text = value.strip()
    if len(text) < minimum:
        return [FieldViolation(field, "is required" if minimum == 1 or not text else f"must be at least {minimum} characters")]
    if len(text) > maximum:
        return [FieldViolation(field, f"must be at most {maximum} characters")]
    if _CONTROL.search(text):
        return [FieldViolation(field, "must not contain control characters")]
    return []


def _legal_name_violations(name: str) -> list[FieldViolation]:
    return text_violations("legal_name", name, minimum=LEGAL_NAME_MIN, maximum=LEGAL_NAME_MAX)


def _description_violations(description: str, prefix: str = "") -> list[FieldViolation]:
    return text_violations(f"{prefix}description", description, maximum=DESCRIPTION_MAX)


def _contacts_violations(contacts: Sequence[Contact], prefix: str = "") -> list[FieldViolation]:
    if len(contacts) > CONTACTS_MAX:
        return [FieldViolation(f"{prefix}contacts", f"at most {CONTACTS_MAX} contacts")]
    found: list[FieldViolation] = []
    for index, contact in enumerate(contacts):
        found.extend(_contact_violations(contact, f"{prefix}contacts[{index}]"))
    return found


def _contact_violations(contact: Contact, path: str) -> list[FieldViolation]:
    found = text_violations(f"{path}.name", contact.name, minimum=1, maximum=CONTACT_NAME_MAX)
    found += text_violations(f"{path}.title", contact.title, maximum=CONTACT_TITLE_MAX)
    email, phone = contact.email.strip(), contact.phone.strip()
    if not email and not phone:
        found.append(FieldViolation(f"{path}.email", "an email or a phone number is required"))
    if email and (len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email)):
        found.append(FieldViolation(f"{path}.email", "is not an email address"))
    if phone and not _PHONE.fullmatch(phone):
        found.append(FieldViolation(f"{path}.phone", "may hold only digits, spaces, '+' and '-' (5-32 characters)"))
    return found


def _tidy_contact(contact: Contact) -> Contact:
    return Contact(
        name=contact.name.strip(),
        title=contact.title.strip(),
        email=contact.email.strip().lower(),
        phone=contact.phone.strip(),
    )


def _unknown(kind: str, value: str) -> str:
    return f"is not a known {kind}" if value else "is required"


def _check_reference_data(reference: ReferenceData) -> None:
    if len(reference._sub_parks) != len(reference.sub_parks) or len(reference._sectors) != len(reference.sectors):
        raise ValueError("reference data ids must be unique")
    if not reference.sub_parks or not reference.sectors:
        raise ValueError("the park needs at least one sub-park and one sector")
    for sub_park in reference.sub_parks:
        if type(sub_park.trade_fee_bps) is not int or not 0 <= sub_park.trade_fee_bps <= 10_000:
            raise ValueError(f"{sub_park.sub_park_id}: trade_fee_bps must be an int within 0..10000")
