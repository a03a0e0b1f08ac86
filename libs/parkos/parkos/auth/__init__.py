"""Authentication (signed tokens) and authorization (roles, tenant binding).

Names are imported from their modules on first use (``parkos.lazy_exports``): reading a role
should not cost the import of the token code (PyJWT, cryptography).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from parkos.lazy_exports import lazy_exports

if TYPE_CHECKING:
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
    from parkos.auth.scopes import KNOWN_SCOPES, require_scope
    from parkos.auth.token_hash import hash_token_secret
    from parkos.auth.tokens import IssuedToken, TokenIssuer, TokenVerifier

_MODULE_OF = {
    "require_admin": "authorization", "require_bank_access": "authorization", "require_role": "authorization",
    "require_tenant_access": "authorization",
    "generate_signing_key": "keys", "load_private_key": "keys", "load_public_key": "keys",
    "public_key_pem_of": "keys",
    "Principal": "principal",
    "RevocationList": "revocations",
    "Role": "roles",
    "KNOWN_SCOPES": "scopes", "require_scope": "scopes",
    "hash_token_secret": "token_hash",
    "IssuedToken": "tokens", "TokenIssuer": "tokens", "TokenVerifier": "tokens",
}

__all__ = sorted(_MODULE_OF)
__getattr__ = lazy_exports(__name__, _MODULE_OF)
