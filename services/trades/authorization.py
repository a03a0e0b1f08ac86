"""Who may do what in the trades API.

Admins everything; a tenant acts only for itself (as the seller of its products and
pools, as the buyer of its orders) and sees only its own orders; banks read the catalog
and pools. A tenant asking to act for another tenant is refused before anything is
looked up; an object a caller may not see is NOT_FOUND, so a refusal never tells
whether it exists.
"""

from __future__ import annotations

from typing import Any

from parkos.auth import Principal, Role, require_admin
from parkos.errors import NotFound, PermissionDenied
from parkos.grpc import current_principal

from services.trades import request_checks
from services.trades.domain import Product

CATALOG_READERS = (Role.ADMIN, Role.TENANT, Role.BANK)


def checked_caller(request: Any) -> Principal:
    """The caller; the request is checked for unknown fields first."""
    principal = current_principal()
    request_checks.refuse_unknown_fields(request)
    return principal


def checked_admin(request: Any) -> Principal:
    """The caller, who must be an admin; then the request is checked for unknown fields."""
    principal = current_principal()
    require_admin(principal)
    request_checks.refuse_unknown_fields(request)
    return principal


def acting_for(principal: Principal, requested: str, field: str) -> str:
    """The tenant a call acts for: a tenant only for itself, an admin for the one it names."""
    if principal.role is Role.TENANT:
        own = principal.tenant_id or ""
        if requested and requested != own:
            raise PermissionDenied("a tenant can only act for itself")
        return own
    if principal.role is Role.ADMIN:
        return request_checks.tenant_id(requested, field)
    raise PermissionDenied("requires role admin or tenant")


def may_manage(principal: Principal, seller_tenant_id: str) -> bool:
    """Whether the caller is an admin or the seller itself."""
    return principal.is_admin() or (principal.role is Role.TENANT and principal.tenant_id == seller_tenant_id)


def to_order(principal: Principal, product: Product) -> Product:
    """The product, for the caller to order; as if it did not exist when the caller cannot see it
    (not approved and listed, and neither the caller's own nor an admin asking), as GetProduct says."""
    if product.on_offer or may_manage(principal, product.seller_tenant_id):
        return product
    raise NotFound("product not found")


def managed(principal: Principal, product: Product) -> Product:
    """The product if the caller is its seller or an admin; else as if it did not exist (unless public)."""
    if may_manage(principal, product.seller_tenant_id):
        return product
    if product.on_offer:
        raise PermissionDenied("only the product's seller or an administrator can do this")
    raise NotFound("product not found")
