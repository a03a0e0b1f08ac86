"""Checks that an authenticated principal may do what it asks."""

from __future__ import annotations

from parkos.auth.principal import Principal
from parkos.auth.roles import Role
from parkos.errors import PermissionDenied


def require_role(principal: Principal, *roles: Role) -> None:
    """Pass if the principal holds one of ``roles``, else PermissionDenied."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    if principal.role not in roles:
        allowed = " or ".join(Role(role).value for role in roles)
        raise PermissionDenied(f"requires role {allowed}")


def require_admin(principal: Principal) -> None:
    """Pass if the principal is a park administrator, else PermissionDenied."""
    require_role(principal, Role.ADMIN)


def require_tenant_access(principal: Principal, tenant_id: str) -> None:
    """Pass for an admin or the tenant ``tenant_id`` itself, else PermissionDenied."""
    if not principal.may_act_for_tenant(tenant_id):
        # No ids in the message: it must not confirm which tenants exist.
        raise PermissionDenied("not allowed to act for this tenant")


def require_bank_access(principal: Principal, bank_id: str) -> None:
    """Pass for an admin or the bank ``bank_id`` itself, else PermissionDenied."""
    if not principal.may_act_for_bank(bank_id):
        raise PermissionDenied("not allowed to act for this bank")
