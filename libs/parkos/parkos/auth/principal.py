"""The authenticated caller of a request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from parkos.auth.roles import Role


@dataclass(frozen=True)
class Principal:
    """Who made the request, as proven by a verified token."""

    subject: str
    role: Role
    token_id: str
    tenant_id: str | None = None
    bank_id: str | None = None
    node_id: str | None = None
    scopes: frozenset[str] = frozenset()
    expires_at: datetime | None = None

    def is_admin(self) -> bool:
        """Whether the caller is a park administrator."""
        return self.role is Role.ADMIN

    def may_act_for_tenant(self, tenant_id: str) -> bool:
        """Whether the caller may see and change objects of tenant ``tenant_id``."""
        if self.is_admin():
            return True
        return self.role is Role.TENANT and bool(tenant_id) and self.tenant_id == tenant_id

    def may_act_for_bank(self, bank_id: str) -> bool:
        """Whether the caller may see and change objects (loans) of bank ``bank_id``."""
        if self.is_admin():
            return True
        return self.role is Role.BANK and bool(bank_id) and self.bank_id == bank_id
