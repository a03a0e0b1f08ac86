"""``parkctl tenants ...``: the registry of enterprises, their credentials and declared revenue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from google.protobuf.duration_pb2 import Duration
from park.tenants.v1 import tenants_pb2
from parkos.auth.scopes import KNOWN_SCOPES

from parkctl.amounts import money_arg
from parkctl.durations import duration_arg
from parkctl.output import enum_name, fail, money, show_many, show_one, when
from parkctl.session import PAGE_FLAGS, Session

app = typer.Typer(help="Tenants: register, list, change status, credentials, revenue.", no_args_is_help=True)
credentials = typer.Typer(help="API credentials for tenant apps, banks and node agents.", no_args_is_help=True)
revenue = typer.Typer(help="Revenue tenants declare, by month.", no_args_is_help=True)
app.add_typer(credentials, name="credentials")
app.add_typer(revenue, name="revenue")

STATUSES = {"pending": 1, "active": 2, "suspended": 3, "offboarded": 4}
# The statuses a tenant can be moved to: pending is only where registration starts.
STATUS_TARGETS = ("active", "suspended", "offboarded")
ROLES = {"admin": 1, "tenant": 2, "bank": 3, "agent": 4}
_CONTACT_FORM = "name=...,title=...,email=...,phone=..."
ContactOption = Annotated[list[str] | None, typer.Option("--contact", help=f"{_CONTACT_FORM} (repeat for several)")]
# the park requires at least one contact of a registered enterprise: refused here, before any call
RequiredContactOption = Annotated[list[str], typer.Option(
    "--contact", show_default=False, help=f"{_CONTACT_FORM}; at least one is required (repeat for several)")]


def _session(ctx: typer.Context) -> Session:
    return ctx.obj


def _status(tenant: tenants_pb2.Tenant) -> str:
    return enum_name(tenants_pb2.TenantStatus, tenant.status, "TENANT_STATUS_")


def _contacts(values: list[str] | None) -> list[tenants_pb2.Contact]:
    contacts = []
    for value in values or []:
        fields = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
        unknown = set(fields) - {"name", "title", "email", "phone"}
        if unknown or not fields:
            fail(f"--contact {value!r}: use name=...,title=...,email=...,phone=...")
        contacts.append(tenants_pb2.Contact(**{key.strip(): item.strip() for key, item in fields.items()}))
    return contacts


def show_tenant(session: Session, tenant: tenants_pb2.Tenant) -> None:
    contacts = [" / ".join(x for x in (c.name, c.title, c.email, c.phone) if x) for c in tenant.contacts]
    show_one(session, tenant, [
        ("tenant", tenant.tenant_id), ("legal name", tenant.legal_name), ("credit code", tenant.credit_code),
        ("sub-park", tenant.sub_park_id), ("sector", tenant.sector_id), ("status", _status(tenant)),
        ("contacts", contacts), ("description", tenant.description), ("registered", when(tenant.registered_at)),
        ("updated", when(tenant.updated_at)), ("version", tenant.version),
    ])


@app.command()
def register(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Legal name")],
    code: Annotated[str, typer.Option("--code", help="Unified social credit code (18 characters)")],
    sub_park: Annotated[str, typer.Option("--sub-park", help="e.g. sp-energy (see `parkctl tenants sub-parks`)")],
    sector: Annotated[str, typer.Option("--sector", help="e.g. sec-digital-energy (see `parkctl tenants sectors`)")],
    contact: RequiredContactOption,
    description: Annotated[str, typer.Option(help="What the enterprise does")] = "",
) -> None:
    """Register an enterprise (it starts PENDING)."""
    session = _session(ctx)
    session.flags = {"legal_name": "--name", "credit_code": "--code", "sub_park_id": "--sub-park",
                     "sector_id": "--sector", "contacts": "--contact", "description": "--description"}
    request = tenants_pb2.RegisterTenantRequest(
        legal_name=name, credit_code=code, sub_park_id=sub_park, sector_id=sector,
        contacts=_contacts(contact), description=description,
    )
    show_tenant(session, session.tenants().RegisterTenant(request, timeout=session.timeout))


@app.command()
def get(ctx: typer.Context, tenant_id: str) -> None:
    """Show one tenant."""
    session = _session(ctx)
    show_tenant(session, session.tenants().GetTenant(tenants_pb2.GetTenantRequest(tenant_id=tenant_id), timeout=session.timeout))


@app.command("list")
def list_tenants(
    ctx: typer.Context,
    sub_park: Annotated[str, typer.Option("--sub-park")] = "",
    sector: Annotated[str, typer.Option("--sector")] = "",
    status: Annotated[str, typer.Option("--status", help="pending|active|suspended|offboarded")] = "",
    name_prefix: Annotated[str, typer.Option("--name-prefix")] = "",
    page_size: Annotated[int, typer.Option("--page-size")] = 50,
    page_token: Annotated[str, typer.Option("--page-token")] = "",
) -> None:
    """List tenants, newest registrations last; filters combine."""
    session = _session(ctx)
    session.flags = {"sub_park_id": "--sub-park", "sector_id": "--sector", "status": "--status",
                     "name_prefix": "--name-prefix", **PAGE_FLAGS}
    if status and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}")
    request = tenants_pb2.ListTenantsRequest(
        sub_park_id=sub_park, sector_id=sector, status=STATUSES.get(status, 0), name_prefix=name_prefix,
        page={"page_size": page_size, "page_token": page_token},
    )
    response = session.tenants().ListTenants(request, timeout=session.timeout)
    show_many(session, response, response.tenants, [
        ("tenant", lambda t: t.tenant_id), ("legal name", lambda t: t.legal_name), ("credit code", lambda t: t.credit_code),
        ("sub-park", lambda t: t.sub_park_id), ("sector", lambda t: t.sector_id), ("status", _status),
    ], title="Tenants")


@app.command()
def status(
    ctx: typer.Context,
    tenant_id: str,
    new_status: Annotated[str, typer.Argument(metavar="STATUS", help="active|suspended|offboarded")],
    reason: Annotated[str, typer.Option(help="Required to suspend or offboard")] = "",
) -> None:
    """Move a tenant in its lifecycle: pending -> active -> suspended -> active | offboarded."""
    session = _session(ctx)
    session.flags = {"reason": "--reason"}
    if new_status not in STATUS_TARGETS:
        fail(f"STATUS must be one of {', '.join(STATUS_TARGETS)} (no tenant moves back to pending)")
    request = tenants_pb2.ChangeStatusRequest(tenant_id=tenant_id, status=STATUSES[new_status], reason=reason)
    show_tenant(session, session.tenants().ChangeStatus(request, timeout=session.timeout))


@app.command()
def update(
    ctx: typer.Context,
    tenant_id: str,
    contact: ContactOption = None,
    description: Annotated[str | None, typer.Option(help="New description")] = None,
) -> None:
    """Replace a tenant's contacts and/or description."""
    session = _session(ctx)
    session.flags = {"tenant.contacts": "--contact", "tenant.description": "--description"}
    request = tenants_pb2.UpdateProfileRequest(tenant=tenants_pb2.Tenant(tenant_id=tenant_id))
    if contact:
        request.tenant.contacts.extend(_contacts(contact))
        request.update_mask.paths.append("contacts")
    if description is not None:
        request.tenant.description = description
        request.update_mask.paths.append("description")
    show_tenant(session, session.tenants().UpdateProfile(request, timeout=session.timeout))


@app.command("sub-parks")
def sub_parks(ctx: typer.Context) -> None:
    """The headquarters base and the themed sub-parks, with their trade-fee rates."""
    session = _session(ctx)
    response = session.tenants().ListSubParks(tenants_pb2.ListSubParksRequest(), timeout=session.timeout)
    show_many(session, response, response.sub_parks, [
        ("sub-park", lambda s: s.sub_park_id), ("name", lambda s: s.name), ("theme", lambda s: s.theme),
        ("trade fee", lambda s: _trade_fee(s.trade_fee_bps)),
    ], title="Sub-parks")


@app.command("trade-fee")
def trade_fee(
    ctx: typer.Context,
    sub_park_id: Annotated[str, typer.Argument(metavar="SUB_PARK", help="e.g. sp-energy")],
    trade_fee_bps: Annotated[int, typer.Argument(metavar="BPS", min=0, max=10_000,
                                                 help="basis points of each trade's gross (250 = 2.50%)")],
) -> None:
    """Set a sub-park's trade-fee rate (admin): its sellers' trades pay it from the moment trades learns it."""
    session = _session(ctx)
    request = tenants_pb2.SetTradeFeeRequest(sub_park_id=sub_park_id, trade_fee_bps=trade_fee_bps)
    changed = session.tenants().SetTradeFee(request, timeout=session.timeout)
    show_one(session, changed, [("sub-park", changed.sub_park_id), ("name", changed.name),
                                ("trade fee", _trade_fee(changed.trade_fee_bps))])


def _trade_fee(bps: int) -> str:
    return f"{bps} bps ({bps // 100}.{bps % 100:02d}%)"


@app.command()
def sectors(ctx: typer.Context) -> None:
    """The digital-economy sectors tenants belong to."""
    session = _session(ctx)
    response = session.tenants().ListSectors(tenants_pb2.ListSectorsRequest(), timeout=session.timeout)
    show_many(session, response, response.sectors, [("sector", lambda s: s.sector_id), ("name", lambda s: s.name)], title="Sectors")


def show_credential(session: Session, credential: tenants_pb2.Credential, response: object | None = None) -> None:
    rows = [
        ("credential", credential.credential_id), ("role", enum_name(tenants_pb2.Role, credential.role, "ROLE_")),
        ("bound to", credential.tenant_id or credential.bank_id or credential.node_id), ("scopes", list(credential.scopes)),
        ("label", credential.label), ("issued", when(credential.issued_at)),
        ("expires", f"{when(credential.expires_at)} {_expired(credential)}".strip()),
        ("revoked", when(credential.revoked_at)), ("revoke reason", credential.revoke_reason),
    ]
    show_one(session, response or credential, rows)  # type: ignore[arg-type]


@credentials.command("issue")
def issue_credential(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help="tenant|bank|agent|admin")],
    tenant_id: Annotated[str, typer.Option("--tenant-id")] = "",
    bank_id: Annotated[str, typer.Option("--bank-id")] = "",
    node_id: Annotated[str, typer.Option("--node-id")] = "",
    scope: Annotated[list[str] | None, typer.Option("--scope", help=(
        "Narrow the token to the calls needing this scope; repeat for several. Without any, it may do "
        f"whatever its role may. One of: {', '.join(sorted(KNOWN_SCOPES))}"))] = None,
    label: Annotated[str, typer.Option()] = "",
    ttl: Annotated[str, typer.Option("--ttl", help="How long the token lives, e.g. 5m, 12h, 30d (5 minutes to "
                                                   "366 days); default: the server's (90 days)")] = "",
    ttl_days: Annotated[int, typer.Option("--ttl-days", help="The same in whole days; 0: the server default")] = 0,
) -> None:
    """Issue a token. It is printed once: the park keeps only its hash."""
    session = _session(ctx)
    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}")
    if ttl and ttl_days:
        fail("give --ttl or --ttl-days, not both")
    session.flags = {"role": "--role", "tenant_id": "--tenant-id", "bank_id": "--bank-id", "node_id": "--node-id",
                     "scopes": "--scope", "label": "--label", "ttl": "--ttl" if ttl else "--ttl-days"}
    request = tenants_pb2.IssueCredentialRequest(
        role=ROLES[role], tenant_id=tenant_id, bank_id=bank_id, node_id=node_id, scopes=scope or [], label=label,
    )
    lifetime = duration_arg(ttl, "--ttl") if ttl else timedelta(days=ttl_days)
    if lifetime:  # unset: the server's default
        request.ttl.CopyFrom(Duration(seconds=int(lifetime.total_seconds())))
    response = session.tenants().IssueCredential(request, timeout=session.timeout)
    show_credential(session, response.credential, response if session.json else None)
    if not session.json:
        typer.echo(f"\ntoken (shown once, store it now):\n{response.token}")


@credentials.command("revoke")
def revoke_credential(ctx: typer.Context, credential_id: str, reason: Annotated[str, typer.Option()] = "") -> None:
    """Revoke a credential; every service refuses its token within seconds."""
    session = _session(ctx)
    session.flags = {"reason": "--reason"}
    request = tenants_pb2.RevokeCredentialRequest(credential_id=credential_id, reason=reason)
    show_credential(session, session.tenants().RevokeCredential(request, timeout=session.timeout))


@credentials.command("list")
def list_credentials(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Option("--tenant-id")] = "",
    role: Annotated[str, typer.Option(help="tenant|bank|agent|admin")] = "",
    include_revoked: Annotated[bool, typer.Option("--include-revoked")] = False,
    page_size: Annotated[int, typer.Option("--page-size")] = 50,
    page_token: Annotated[str, typer.Option("--page-token")] = "",
) -> None:
    """List credentials (never their tokens); those past their expiry are marked expired."""
    session = _session(ctx)
    session.flags = {"tenant_id": "--tenant-id", "role": "--role", **PAGE_FLAGS}
    if role and role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}")
    request = tenants_pb2.ListCredentialsRequest(
        tenant_id=tenant_id, role=ROLES.get(role, 0), include_revoked=include_revoked,
        page={"page_size": page_size, "page_token": page_token},
    )
    response = session.tenants().ListCredentials(request, timeout=session.timeout)
    show_many(session, response, response.credentials, [
        ("credential", lambda c: c.credential_id), ("role", lambda c: enum_name(tenants_pb2.Role, c.role, "ROLE_")),
        ("bound to", lambda c: c.tenant_id or c.bank_id or c.node_id), ("label", lambda c: c.label),
        ("scopes", lambda c: ", ".join(c.scopes) or "(all of its role)"),
        ("expires", lambda c: when(c.expires_at)), ("expired", _expired), ("revoked", lambda c: when(c.revoked_at)),
    ], title="Credentials")


def _expired(credential: tenants_pb2.Credential) -> str:
    """``expired`` once the credential's expiry is past: its token is refused though it was never revoked."""
    expires = credential.expires_at
    if not expires.seconds and not expires.nanos:
        return ""
    return "expired" if expires.ToDatetime(tzinfo=UTC) <= datetime.now(UTC) else ""


# ignore_unknown_options: an AMOUNT such as -5.00 reaches the server (which names what is wrong
# with it) instead of being read as an option named -5
@revenue.command("report", context_settings={"ignore_unknown_options": True})
def report_revenue(
    ctx: typer.Context,
    tenant_id: str,
    period: Annotated[str, typer.Argument(help="YYYY-MM")],
    amount: Annotated[str, typer.Argument(help="e.g. 1250000.00 (exact decimal, no rounding)")],
    currency: Annotated[str, typer.Option()] = "CNY",
    note: Annotated[str, typer.Option()] = "",
) -> None:
    """Declare (or correct) a tenant's revenue for a month."""
    session = _session(ctx)
    session.flags = {"revenue.currency": "--currency", "note": "--note"}
    request = tenants_pb2.ReportRevenueRequest(
        tenant_id=tenant_id, period=period, note=note, revenue=money_arg(amount, currency, "AMOUNT"),
    )
    filed = session.tenants().ReportRevenue(request, timeout=session.timeout)
    show_one(session, filed, [
        ("report", filed.report_id), ("tenant", filed.tenant_id), ("period", filed.period),
        ("revenue", money(filed.revenue)), ("version", filed.version), ("reported", when(filed.reported_at)),
    ])


@revenue.command("list")
def list_revenue(
    ctx: typer.Context,
    tenant_id: str,
    period: Annotated[str, typer.Option(help="Only this month (YYYY-MM)")] = "",
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Include superseded versions")] = False,
    page_size: Annotated[int, typer.Option("--page-size")] = 50,
    page_token: Annotated[str, typer.Option("--page-token")] = "",
) -> None:
    """A tenant's declared revenue, current versions by default."""
    session = _session(ctx)
    session.flags = {"period": "--period", **PAGE_FLAGS}
    request = tenants_pb2.ListRevenueReportsRequest(
        tenant_id=tenant_id, period=period, include_superseded=all_versions,
        page={"page_size": page_size, "page_token": page_token},
    )
    response = session.tenants().ListRevenueReports(request, timeout=session.timeout)
    show_many(session, response, response.reports, [
        ("period", lambda r: r.period), ("revenue", lambda r: money(r.revenue)), ("version", lambda r: r.version),
        ("current", lambda r: "yes" if r.current else ""), ("reported", lambda r: when(r.reported_at)),
    ], title=f"Revenue of {tenant_id}")
