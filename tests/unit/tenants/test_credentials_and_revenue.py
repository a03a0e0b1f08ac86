"""Credentials (issue, revoke) and declared revenue (periods, amounts, versions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from parkos.auth.roles import Role
from parkos.errors import FailedPrecondition, InvalidArgument
from parkos.money import Money

from services.tenants.credentials import DEFAULT_TTL, Credential, CredentialRequest
from services.tenants.domain import Contact, Tenant, TenantApplication, TenantStatus
from services.tenants.reference_data import default_reference_data
from services.tenants.revenue import Period, report_revenue

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def fields_of(error: InvalidArgument) -> set[str]:
    return {violation.field for violation in error.violations}


def active_tenant() -> Tenant:
    application = TenantApplication(
        "Datong Compute Ltd.", "91330100716105852F", "sp-computing", "sec-computing-services", [Contact("Zhao", phone="12345678")]
    )
    tenant, _ = Tenant.register(application, tenant_id="ten_9", reference=default_reference_data(), actor="a", now=NOW)
    return replace(tenant, status=TenantStatus.ACTIVE)


@pytest.mark.parametrize(
    ("request_", "bad_fields"),
    [
        (CredentialRequest(None), {"role"}),
        (CredentialRequest(Role.TENANT), {"tenant_id"}),
        (CredentialRequest(Role.TENANT, tenant_id="ten_1", bank_id="bank-1"), {"bank_id"}),
        (CredentialRequest(Role.BANK), {"bank_id"}),
        (CredentialRequest(Role.BANK, bank_id="bad id!"), {"bank_id"}),
        (CredentialRequest(Role.AGENT, node_id="n1", tenant_id="ten_1"), {"tenant_id"}),
        (CredentialRequest(Role.ADMIN, scopes=["Bad Scope"]), {"scopes[0]"}),
        # well formed, but no service checks it: it would grant nothing the holder expects
        (CredentialRequest(Role.TENANT, tenant_id="ten_1", scopes=["orders:read", "orders:cancel"]), {"scopes[1]"}),
        (CredentialRequest(Role.ADMIN, ttl=timedelta(seconds=10)), {"ttl"}),
        (CredentialRequest(Role.ADMIN, ttl=timedelta(days=400)), {"ttl"}),
        (CredentialRequest(Role.ADMIN, label="x" * 101), {"label"}),
    ],
)
def test_bad_credential_requests_name_their_fields(request_: CredentialRequest, bad_fields: set[str]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        request_.checked()
    assert fields_of(caught.value) == bad_fields


def test_a_checked_request_gets_defaults() -> None:
    checked = CredentialRequest(Role.BANK, bank_id="bank-icbc", scopes=["loans:read", "loans:read"]).checked()
    assert checked.ttl == DEFAULT_TTL and checked.scopes == ("loans:read",)


def test_issue_then_revoke_once() -> None:
    request = CredentialRequest(Role.TENANT, tenant_id="ten_9", label=" ERP ").checked()
    credential, issued = Credential.issued(
        request, credential_id="crd_1", token_hash="ab" * 32, expires_at=NOW + DEFAULT_TTL, actor="admin", now=NOW
    )
    assert issued.credential == credential and credential.label == "ERP" and not credential.revoked
    revoked, event = credential.revoke(reason="leaked", actor="admin", now=NOW)
    assert revoked.revoked and event is not None and event.credential.revoke_reason == "leaked"
    again, no_event = revoked.revoke(reason="again", actor="admin", now=NOW)
    assert again is revoked and no_event is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is required"),
        ("2025-3", "YYYY-MM"),
        ("2025/03", "YYYY-MM"),
        ("2025-13", "01-12"),
        ("2025-00", "01-12"),
        ("1999-12", "before 2000"),
        ("2025-04", "future"),
    ],
)
def test_bad_periods(text: str, expected: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Period.parse(text, now=NOW)
    assert fields_of(caught.value) == {"period"}
    assert expected in caught.value.violations[0].description


def test_periods_read_and_write_as_months() -> None:
    assert str(Period.parse("2025-03", now=NOW)) == "2025-03"
    assert Period(2024, 12) < Period(2025, 1)


def test_a_correction_is_the_next_version() -> None:
    tenant = active_tenant()
    report, event = report_revenue(
        tenant, period=Period(2025, 2), revenue=Money(123_456_00, "CNY"), note="", latest_version=2,
        report_id="rev_1", currency="CNY", actor="ten-app", now=NOW,
    )
    assert report.version == 3 and report.replaces_version == 2 and report.current
    assert (event.sub_park_id, event.sector_id) == ("sp-computing", "sec-computing-services")


@pytest.mark.parametrize(
    ("revenue", "bad_field"),
    [
        (Money(-1, "CNY"), "revenue.amount_minor"),
        (Money(10**17, "CNY"), "revenue.amount_minor"),
        (Money(100, "USD"), "revenue.currency"),
    ],
)
def test_bad_amounts(revenue: Money, bad_field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        report_revenue(
            active_tenant(), period=Period(2025, 2), revenue=revenue, note="", latest_version=0,
            report_id="rev_1", currency="CNY", actor="a", now=NOW,
        )
    assert fields_of(caught.value) == {bad_field}


def test_a_pending_tenant_reports_nothing() -> None:
    pending = replace(active_tenant(), status=TenantStatus.PENDING)
    with pytest.raises(FailedPrecondition):
        report_revenue(
            pending, period=Period(2025, 2), revenue=Money(1, "CNY"), note="", latest_version=0,
            report_id="rev_1", currency="CNY", actor="a", now=NOW,
        )


def test_a_scoped_issuer_issues_only_credentials_within_its_scopes() -> None:
    from parkos.errors import PermissionDenied

    own = frozenset({"credentials:manage", "tenants:read"})
    CredentialRequest(Role.ADMIN, scopes=["tenants:read"]).checked().ensure_within(own)
    CredentialRequest(Role.ADMIN).checked().ensure_within(frozenset())  # an unscoped issuer: anything
    for wider in ([], ["orders:refund"], ["tenants:read", "tenants:admin"]):
        with pytest.raises(PermissionDenied):
            CredentialRequest(Role.ADMIN, scopes=wider).checked().ensure_within(own)
