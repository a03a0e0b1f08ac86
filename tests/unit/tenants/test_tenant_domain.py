"""The tenant aggregate: registration rules, lifecycle, profile edits, reference data."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from parkos.errors import FailedPrecondition, InvalidArgument

from services.tenants.domain import (
    Contact,
    ProfilePatch,
    ReferenceData,
    Sector,
    SubPark,
    Tenant,
    TenantApplication,
    TenantStatus,
)
from services.tenants.reference_data import default_reference_data

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
REFERENCE = default_reference_data()
APPLICATION = TenantApplication(
    legal_name="  Taiyuan Coal Data Co., Ltd. ",
    credit_code="914403001922038216",
    sub_park_id="sp-energy",
    sector_id="sec-digital-energy",
    contacts=[Contact("Li Wei", "finance", " Li.Wei@Example.cn ", "+86 351-1234567")],
    description="Coal quality datasets",
)


def register(application: TenantApplication = APPLICATION) -> Tenant:
    tenant, _ = Tenant.register(application, tenant_id="ten_1", reference=REFERENCE, actor="admin-1", now=NOW)
    return tenant


def fields_of(error: InvalidArgument) -> set[str]:
    return {violation.field for violation in error.violations}


def test_registration_makes_a_pending_tenant_and_announces_it() -> None:
    tenant, event = Tenant.register(APPLICATION, tenant_id="ten_1", reference=REFERENCE, actor="admin-1", now=NOW)
    assert tenant.status is TenantStatus.PENDING
    assert tenant.legal_name == "Taiyuan Coal Data Co., Ltd."
    assert tenant.contacts[0].email == "li.wei@example.cn"
    assert tenant.version == 1 and tenant.registered_at == NOW
    assert event.tenant == tenant and event.registered_by == "admin-1"


def test_registration_reports_every_bad_field_at_once() -> None:
    bad = replace(
        APPLICATION,
        legal_name="",
        credit_code="914403001922038217",
        sub_park_id="sp-moon",
        sector_id="",
        contacts=[Contact("", email="not-an-email", phone="abc")],
        description="x" * 2001,
    )
    with pytest.raises(InvalidArgument) as caught:
        Tenant.register(bad, tenant_id="ten_1", reference=REFERENCE, actor="a", now=NOW)
    assert fields_of(caught.value) == {
        "legal_name",
        "credit_code",
        "sub_park_id",
        "sector_id",
        "contacts[0].name",
        "contacts[0].email",
        "contacts[0].phone",
        "description",
    }


@pytest.mark.parametrize(
    ("legal_name", "expected"),
    [("", "is required"), ("A", "at least 2"), ("x" * 151, "at most 150"), ("Bad\nName", "control")],
)
def test_legal_name_limits(legal_name: str, expected: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        register(replace(APPLICATION, legal_name=legal_name))
    assert fields_of(caught.value) == {"legal_name"}
    assert expected in caught.value.violations[0].description


def test_contacts_are_required_and_bounded() -> None:
    with pytest.raises(InvalidArgument) as caught:
        register(replace(APPLICATION, contacts=[]))
    assert fields_of(caught.value) == {"contacts"}
    with pytest.raises(InvalidArgument) as caught:
        register(replace(APPLICATION, contacts=[Contact("A", phone="12345")] * 11))
    assert fields_of(caught.value) == {"contacts"}


def test_a_contact_needs_an_email_or_a_phone() -> None:
    with pytest.raises(InvalidArgument) as caught:
        register(replace(APPLICATION, contacts=[Contact("Li Wei")]))
    assert fields_of(caught.value) == {"contacts[0].email"}
    assert register(replace(APPLICATION, contacts=[Contact("Li Wei", phone="0351 1234567")]))


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (TenantStatus.PENDING, TenantStatus.ACTIVE),
        (TenantStatus.ACTIVE, TenantStatus.SUSPENDED),
        (TenantStatus.SUSPENDED, TenantStatus.ACTIVE),
        (TenantStatus.SUSPENDED, TenantStatus.OFFBOARDED),
    ],
)
def test_allowed_transitions(start: TenantStatus, target: TenantStatus) -> None:
    tenant = replace(register(), status=start)
    later = NOW + timedelta(hours=1)
    changed, event = tenant.change_status(target, reason="audit", actor="admin-2", now=later)
    assert changed.status is target and changed.version == tenant.version + 1 and changed.updated_at == later
    assert (event.from_status, event.to_status, event.changed_by, event.reason) == (start, target, "admin-2", "audit")


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (TenantStatus.PENDING, TenantStatus.SUSPENDED),
        (TenantStatus.PENDING, TenantStatus.OFFBOARDED),
        (TenantStatus.PENDING, TenantStatus.PENDING),
        (TenantStatus.ACTIVE, TenantStatus.ACTIVE),
        (TenantStatus.ACTIVE, TenantStatus.PENDING),
        (TenantStatus.ACTIVE, TenantStatus.OFFBOARDED),
        (TenantStatus.OFFBOARDED, TenantStatus.ACTIVE),
        (TenantStatus.OFFBOARDED, TenantStatus.SUSPENDED),
    ],
)
def test_illegal_transitions_fail_precondition(start: TenantStatus, target: TenantStatus) -> None:
    tenant = replace(register(), status=start)
    with pytest.raises(FailedPrecondition):
        tenant.change_status(target, reason="because", actor="admin", now=NOW)


def test_suspending_needs_a_reason() -> None:
    active = replace(register(), status=TenantStatus.ACTIVE)
    with pytest.raises(InvalidArgument) as caught:
        active.change_status(TenantStatus.SUSPENDED, reason="  ", actor="admin", now=NOW)
    assert fields_of(caught.value) == {"reason"}


def test_profile_update_changes_only_what_differs() -> None:
    tenant = register()
    contacts = [Contact("Wang Fang", "technical", "wf@example.cn")]
    changed, event = tenant.update_profile(ProfilePatch(contacts=contacts), actor="ten-app", now=NOW)
    assert changed.contacts == (Contact("Wang Fang", "technical", "wf@example.cn"),)
    assert changed.description == tenant.description and changed.version == 2
    assert event is not None and event.changed_fields == ("contacts",)
    same, no_event = changed.update_profile(ProfilePatch(description=tenant.description), actor="x", now=NOW)
    assert same is changed and no_event is None


def test_profile_update_field_names_point_into_the_request() -> None:
    with pytest.raises(InvalidArgument) as caught:
        register().update_profile(ProfilePatch(contacts=[Contact("A", email="bad")], description="x" * 3000), actor="a", now=NOW)
    assert fields_of(caught.value) == {"tenant.contacts[0].email", "tenant.description"}


def test_an_offboarded_tenant_is_read_only() -> None:
    gone = replace(register(), status=TenantStatus.OFFBOARDED)
    with pytest.raises(FailedPrecondition):
        gone.update_profile(ProfilePatch(description="new"), actor="a", now=NOW)
    with pytest.raises(FailedPrecondition):
        gone.ensure_may_hold_credentials()
    with pytest.raises(FailedPrecondition):
        gone.ensure_may_report_revenue()


def test_reference_data_is_the_reference_park() -> None:
    assert len(REFERENCE.sub_parks) == 9 and sum(s.headquarters for s in REFERENCE.sub_parks) == 1
    assert len(REFERENCE.sectors) == 16
    assert REFERENCE.sub_park("sp-hq").trade_fee_bps == 300
    with pytest.raises(InvalidArgument) as caught:
        REFERENCE.sector("sec-unknown")
    assert fields_of(caught.value) == {"sector_id"}


def test_reference_data_refuses_duplicates_and_bad_fees() -> None:
    with pytest.raises(ValueError):
        ReferenceData([SubPark("a", "A", "", 100), SubPark("a", "B", "", 100)], [Sector("s", "S")])
    with pytest.raises(ValueError):
        ReferenceData([SubPark("a", "A", "", 10_001)], [Sector("s", "S")])
