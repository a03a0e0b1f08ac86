"""Signed bearer tokens: the issuer (tenants service) signs, every service verifies.

A token is a JWT signed with Ed25519 (``EdDSA``).  Claims: ``iss``, ``sub``,
``role``, ``jti`` (the token id, for revocation), ``iat``, ``exp`` and, as the
role needs, ``tid`` (tenant), ``bid`` (bank), ``nid`` (compute node) and
``scp`` (scopes).  Verification accepts EdDSA only, so neither an unsigned
(``alg: none``) token nor an HMAC token keyed with the public key can pass.
"""

from __future__ import annotations

from collections import OrderedDict

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from parkos.auth.keys import load_private_key, load_public_key
from parkos.auth.principal import Principal
from parkos.auth.revocations import RevocationList
from parkos.auth.roles import Role
from parkos.errors import Unauthenticated, Unavailable
from parkos.ids import new_id
from parkos.wording import with_article

ALGORITHM = "EdDSA"
TOKEN_ID_PREFIX = "tok"
_REQUIRED_CLAIMS = ["iss", "sub", "role", "jti", "iat", "exp"]
_BINDING_CLAIM = {Role.TENANT: "tid", Role.BANK: "bid", Role.AGENT: "nid"}
_BINDING_NAME = {Role.TENANT: "tenant", Role.BANK: "bank", Role.AGENT: "node"}


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IssuedToken:
    """A freshly signed token, its id and when it expires."""

    token: str
    token_id: str
    expires_at: datetime


class TokenIssuer:
    """Signs tokens with the park's private key."""

    def __init__(
        self,
        private_key_pem: bytes,
        *,
        issuer: str = "park-os",
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._key = load_private_key(private_key_pem)
        self._issuer = issuer
        self._clock = clock

    def issue(
        self,
        role: Role,
        subject: str,
        *,
        tenant_id: str | None = None,
        bank_id: str | None = None,
        node_id: str | None = None,
        scopes: Iterable[str] = (),
        ttl: timedelta,
        token_id: str | None = None,
    ) -> IssuedToken:
        """A token for ``subject`` acting as ``role``, valid for ``ttl`` (whole seconds)."""
        role = Role(role)
        bindings = {"tid": tenant_id, "bid": bank_id, "nid": node_id}
        _check_issue(role, subject, bindings, ttl)
        issued_at = math.floor(_aware(self._clock()).timestamp())
        expires = issued_at + math.ceil(ttl.total_seconds())
        token_id = token_id or new_id(TOKEN_ID_PREFIX)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": subject,
            "role": role.value,
            "jti": token_id,
            "iat": issued_at,
            "exp": expires,
        }
        claims.update({name: value for name, value in bindings.items() if value})
        scope_list = sorted(set(scopes))
        if scope_list:
            claims["scp"] = scope_list
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM)
        return IssuedToken(token, token_id, datetime.fromtimestamp(expires, UTC))


class TokenVerifier:
    """Checks a token's signature, issuer, expiry, revocation and role binding."""

    def __init__(
        self,
        public_key_pem: bytes,
        *,
        revocations: RevocationList | None = None,
        issuer: str = "park-os",
        clock: Callable[[], datetime] = _utc_now,
        leeway: timedelta = timedelta(seconds=5),
        cache_size: int = 10_000,
    ) -> None:
        self._key = load_public_key(public_key_pem)
        self._revocations = revocations
        self._issuer = issuer
        self._clock = clock
        self._leeway = leeway.total_seconds()
        # Signature checks cost ~0.3 ms each and a client sends the same token on every call:
        # remember the claims of tokens whose signature held, and the principal they prove
        # (a pure function of the claims). Expiry and revocation are still checked on every
        # call, in the same order as for a new token, so the cache changes no verdict.
        self._signed: OrderedDict[str, _SignedToken] = OrderedDict()
        self._cache_size = cache_size

    def verify(self, token: str) -> Principal:
        """The principal ``token`` proves; ``Unauthenticated`` with a short reason otherwise."""
        signed = self._signed_token(token)
        self._check_time(signed.claims)
        token_id = signed.token_id()
        if self._revocations is not None:
            if not self._revocations.loaded:
                raise Unavailable("revoked credentials are still loading, retry shortly")
            if self._revocations.is_revoked(token_id):
                raise Unauthenticated("token revoked")
        return signed.principal()

    def lapse_of(self, principal: Principal) -> str | None:
        """Why the token that proved ``principal`` no longer holds (revoked, expired), or None.

        A call is verified once, when it starts; a long one (a response stream) asks this as it
        goes, so a revoked or expired token does not keep a stream open."""
        if self._revocations is not None and self._revocations.is_revoked(principal.token_id):
            return "token revoked"
        if principal.expires_at is not None and principal.expires_at.timestamp() + self._leeway < self._clock().timestamp():
            return "token expired"
        return None

    def _signed_token(self, token: str) -> _SignedToken:
        signed = self._signed.get(token) if isinstance(token, str) else None
        if signed is not None:
            self._signed.move_to_end(token)
            return signed
        signed = _SignedToken(self._decode(token))
        if self._cache_size:
            self._signed[token] = signed
            if len(self._signed) > self._cache_size:
                self._signed.popitem(last=False)
        return signed

    def _decode(self, token: str) -> dict[str, Any]:
        if not isinstance(token, str) or not token:
            raise Unauthenticated("malformed token")
        try:
            return jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                # Time is checked against our own (injectable) clock below.
                options={"require": _REQUIRED_CLAIMS, "verify_exp": False,
                         "verify_iat": False, "verify_nbf": False},
            )
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
            raise Unauthenticated("bad signature") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("wrong issuer") from None
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token") from None

    def _check_time(self, claims: Mapping[str, Any]) -> None:
        now = _aware(self._clock()).timestamp()
        if now > _number_claim(claims, "exp") + self._leeway:
            raise Unauthenticated("token expired")
        if _number_claim(claims, "iat") > now + self._leeway:
            raise Unauthenticated("token not yet valid")


class _SignedToken:
    """The claims of a token whose signature and issuer held, and what they prove, worked out once.

    A malformed claim raises ``Unauthenticated`` each time it is asked for (nothing is kept
    then), so a cached token fails exactly as a new one would.
    """

    __slots__ = ("claims", "_token_id", "_principal")

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims
        self._token_id: str | None = None
        self._principal: Principal | None = None

    def token_id(self) -> str:
        if self._token_id is None:
            self._token_id = _string_claim(self.claims, "jti")
        return self._token_id

    def principal(self) -> Principal:
        if self._principal is None:
            self._principal = _principal_from(self.claims, self.token_id())
        return self._principal


def _check_issue(
    role: Role, subject: str, bindings: Mapping[str, str | None], ttl: timedelta
) -> None:
    if not subject:
        raise ValueError("a token needs a subject")
    if ttl <= timedelta(0):
        raise ValueError("a token's ttl must be positive")
    claim = _BINDING_CLAIM.get(role)
    if claim is not None and not bindings[claim]:
        raise ValueError(f"{with_article(role.value)} token must be bound to {with_article(_BINDING_NAME[role])} id")


def _principal_from(claims: Mapping[str, Any], token_id: str) -> Principal:
    try:
        role = Role(claims["role"])
    except ValueError:
        raise Unauthenticated("unknown role") from None
    bound = {name: _optional_string_claim(claims, name) for name in ("tid", "bid", "nid")}
    claim = _BINDING_CLAIM.get(role)
    if claim is not None and not bound[claim]:
        raise Unauthenticated(f"token not bound to {with_article(_BINDING_NAME[role])}")
    return Principal(
        subject=_string_claim(claims, "sub"),
        role=role,
        token_id=token_id,
        tenant_id=bound["tid"],
        bank_id=bound["bid"],
        node_id=bound["nid"],
        scopes=_scopes(claims),
        expires_at=datetime.fromtimestamp(_number_claim(claims, "exp"), UTC),
    )


def _string_claim(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise Unauthenticated("malformed token")
    return value


def _optional_string_claim(claims: Mapping[str, Any], name: str) -> str | None:
    return _string_claim(claims, name) if name in claims else None


def _number_claim(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthenticated("malformed token")
    return value


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    value = claims.get("scp", [])
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise Unauthenticated("malformed token")
    return frozenset(value)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the token clock must return time-zone-aware datetimes")
    return moment
