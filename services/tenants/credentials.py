"""API credentials: bearer tokens the park issues to tenant apps, banks and node agents.

Pure Python. A credential is the stored description of one signed token: its id (the
token's ``jti``), role, binding, scopes, expiry and the sha256 of the token itself. The
token is shown to the administrator once and never kept. Revoking is idempotent; the
first revocation emits ``CredentialRevoked``, which every service's verifier applies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from parkos.auth.roles import Role
from parkos.auth.scopes import KNOWN_SCOPES
from parkos.errors import FieldViolation, InvalidArgument, PermissionDenied
from parkos.wording import with_article

from services.tenants.domain import REASON_MAX, text_violations

DEFAULT_TTL = timedelta(days=90)
MIN_TTL = timedelta(minutes=5)
MAX_TTL = timedelta(days=366)
SCOPES_MAX = 20
LABEL_MAX = 100
_PARTY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
# Which binding each role needs; the other bindings must be empty.
_BINDING = {Role.ADMIN: None, Role.TENANT: "tenant_id", Role.BANK: "bank_id", Role.AGENT: "node_id"}


@dataclass(frozen=True)
class CredentialRequest:
    """What an administrator asks for when issuing a credential."""

    role: Role | None
    tenant_id: str = ""
    bank_id: str = ""
    node_id: str = ""
    scopes: Sequence[str] = ()
    label: str = ""
    ttl: timedelta | None = None

    def checked(self) -> CredentialRequest:
        """This request with defaults filled in; InvalidArgument listing every problem."""
        violations = self.violations()
        if violations:
            raise InvalidArgument("the credential request is invalid", violations)
        return replace(self, scopes=tuple(dict.fromkeys(self.scopes)), label=self.label.strip(), ttl=self.ttl or DEFAULT_TTL)

    def ensure_within(self, issuer_scopes: frozenset[str]) -> None:
        """PermissionDenied unless the credential is no wider than the token issuing it: a token
        limited to scopes may only issue credentials limited to some of those (else a token
        allowed only to manage credentials could mint an unlimited one)."""
        if issuer_scopes and not (self.scopes and set(self.scopes) <= issuer_scopes):
            raise PermissionDenied(
                f"a token limited to scopes {', '.join(sorted(issuer_scopes))} can only issue credentials "
                "limited to some of them")

    def violations(self) -> list[FieldViolation]:
        """Every problem of the request, each naming its field."""
        if self.role is None:
            return [FieldViolation("role", "is required (admin, tenant, bank or agent)")]
        found = self._binding_violations(self.role)
        if len(self.scopes) > SCOPES_MAX:
            found.append(FieldViolation("scopes", f"at most {SCOPES_MAX} scopes"))
        for index, scope in enumerate(self.scopes):
            if scope not in KNOWN_SCOPES:  # a scope no service checks would silently grant nothing
                found.append(FieldViolation(f"scopes[{index}]", f"must be one of {', '.join(sorted(KNOWN_SCOPES))}"))
        found.extend(text_violations("label", self.label, maximum=LABEL_MAX))
        if self.ttl is not None and not MIN_TTL <= self.ttl <= MAX_TTL:
            found.append(FieldViolation("ttl", f"must be between {MIN_TTL.seconds // 60} minutes and {MAX_TTL.days} days"))
        return found

    def _binding_violations(self, role: Role) -> list[FieldViolation]:
        found = []
        needed = _BINDING[role]
        for field in ("tenant_id", "bank_id", "node_id"):
            value = getattr(self, field)
            if field == needed and not value:
                found.append(FieldViolation(field, f"is required for {with_article(role)} credential"))
            elif field != needed and value:
                found.append(FieldViolation(field, f"must be empty for {with_article(role)} credential"))
            elif field == needed and field != "tenant_id" and not _PARTY_ID.fullmatch(value):
                found.append(FieldViolation(field, "must be 1-64 letters, digits or '_.:-'"))
        return found


@dataclass(frozen=True)
class Credential:
    """A token the park issued, as kept at rest (hash only)."""

    credential_id: str
    role: Role
    tenant_id: str
    bank_id: str
    node_id: str
    scopes: tuple[str, ...]
    label: str
    issued_at: datetime
    expires_at: datetime
    issued_by: str
    token_hash: str
    revoked_at: datetime | None = None
    revoke_reason: str = ""
    revoked_by: str = ""

    @classmethod
    def issued(
        cls,
        request: CredentialRequest,
        *,
        credential_id: str,
        token_hash: str,
        expires_at: datetime,
        actor: str,
        now: datetime,
    ) -> tuple[Credential, CredentialIssued]:
        """The record of a token just signed for a checked ``request``, and its event."""
        assert request.role is not None, "issue only checked requests"
        credential = cls(
            credential_id=credential_id,
            role=request.role,
            tenant_id=request.tenant_id,
            bank_id=request.bank_id,
            node_id=request.node_id,
            scopes=tuple(request.scopes),
            label=request.label,
            issued_at=now,
            expires_at=expires_at,
            issued_by=actor,
            token_hash=token_hash,
        )
        return credential, CredentialIssued(credential)

    @property
    def revoked(self) -> bool:
        """Whether the credential has been revoked."""
        return self.revoked_at is not None

    def revoke(self, *, reason: str, actor: str, now: datetime) -> tuple[Credential, CredentialRevoked | None]:
        """Revoke it; revoking again changes nothing and emits no event."""
        violations = text_violations("reason", reason, maximum=REASON_MAX)
        if violations:
            raise InvalidArgument("the revocation is invalid", violations)
        if self.revoked:
            return self, None
        revoked = replace(self, revoked_at=now, revoke_reason=reason.strip(), revoked_by=actor)
        return revoked, CredentialRevoked(revoked)


@dataclass(frozen=True)
class CredentialIssued:
    """A credential was issued (the event never carries the token)."""

    credential: Credential


@dataclass(frozen=True)
class CredentialRevoked:
    """A credential was revoked; verifiers must refuse its token from now on."""

    credential: Credential
