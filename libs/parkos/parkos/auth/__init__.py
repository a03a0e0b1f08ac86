"""Authentication (signed tokens) and authorization (roles, tenant binding)."""

from parkos.auth.authorization import (
    require_admin,
    require_bank_access,
    require_role,
    require_tenant_access,
)
from parkos.auth.keys import (
    generate_signing_key,
    load_private_key,
    load_public_key,
    public_key_pem_of,
)
from parkos.auth.principal import Principal
from parkos.auth.revocations import RevocationList
from parkos.auth.roles import Role
from parkos.auth.token_hash import hash_token_secret
from parkos.auth.tokens import IssuedToken, TokenIssuer, TokenVerifier

__all__ = [
    "IssuedToken",
    "Principal",
    "RevocationList",
    "Role",
    "TokenIssuer",
    "TokenVerifier",
    "generate_signing_key",
    "hash_token_secret",
    "load_private_key",
    "load_public_key",
    "public_key_pem_of",
    "require_admin",
    "require_bank_access",
    "require_role",
    "require_tenant_access",
]
