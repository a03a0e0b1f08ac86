"""Scopes: what a credential's token may do, narrower than its role.

A token without scopes may do whatever its role may. A token with scopes may call only the
methods that need one of them, and its role, tenant and bank checks still apply on top: a
scope narrows a role, never widens it. Each service names the scope every one of its
methods needs (``ServiceRegistration.method_scopes``); a method that names none cannot be
called with a scoped token at all (fail closed). The tenants service refuses to issue a
scope not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping

from parkos.auth.principal import Principal
from parkos.errors import PermissionDenied

TENANTS_READ = "tenants:read"
TENANTS_WRITE = "tenants:write"  # registration, profiles
TENANTS_ADMIN = "tenants:admin"  # status (offboarding revokes credentials), sub-parks' trade fees
CREDENTIALS_MANAGE = "credentials:manage"  # a scoped holder issues only credentials within its own scopes
REVENUE_READ = "revenue:read"  # declared revenue
REVENUE_WRITE = "revenue:write"
PRODUCTS_READ = "products:read"  # products, the catalog, demand pools
PRODUCTS_WRITE = "products:write"  # listing, delisting, relisting, opening pools
PRODUCTS_REVIEW = "products:review"  # the compliance review
ORDERS_READ = "orders:read"
ORDERS_WRITE = "orders:write"  # placing orders, joining pools
ORDERS_REFUND = "orders:refund"
ANALYTICS_READ = "analytics:read"
# The credit service's (DESIGN.md), for banks' credentials; until it runs, a token holding
# only these can call nothing.
LOANS_READ = "loans:read"
LOANS_WRITE = "loans:write"

KNOWN_SCOPES = frozenset({
    TENANTS_READ, TENANTS_WRITE, TENANTS_ADMIN, CREDENTIALS_MANAGE, REVENUE_READ, REVENUE_WRITE, PRODUCTS_READ,
    PRODUCTS_WRITE, PRODUCTS_REVIEW, ORDERS_READ, ORDERS_WRITE, ORDERS_REFUND, ANALYTICS_READ, LOANS_READ, LOANS_WRITE,
})
# Not a scope one can hold: what a method names when every token may call it (reference data
# that every app needs, whatever it was scoped to).
ANY_TOKEN = "*"


def full_method_scopes(service_name: str, method_scopes: Mapping[str, str]) -> dict[str, str]:
    """``{"/pkg.Svc/Call": scope}`` from a service's ``{"Call": scope}``; ValueError for an unknown scope."""
    unknown = set(method_scopes.values()) - KNOWN_SCOPES - {ANY_TOKEN}
    if unknown:
        raise ValueError(f"unknown scopes {sorted(unknown)} for {service_name}")
    return {f"/{service_name}/{method}": scope for method, scope in method_scopes.items()}


def require_scope(principal: Principal, scope: str | None, method: str) -> None:
    """Pass when the principal's token is unscoped or holds ``scope`` (what ``method`` needs), else PermissionDenied."""
    if not principal.scopes or scope == ANY_TOKEN or (scope is not None and scope in principal.scopes):
        return
    call = method.rsplit("/", 1)[-1]
    needs = f"it needs scope {scope}" if scope else "it is not open to scoped tokens"
    raise PermissionDenied(f"this token is limited to scopes {', '.join(sorted(principal.scopes))}; {call}: {needs}")
