"""Tokens: what verifies, and every way a bad token is turned away."""

import base64
import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from parkos.auth import (
    Principal,
    RevocationList,
    Role,
    TokenIssuer,
    TokenVerifier,
    generate_signing_key,
    hash_token_secret,
    load_private_key,
    load_public_key,
    public_key_pem_of,
)
from parkos.errors import Unauthenticated, Unavailable
from parkos.grpc import code_for_exception

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Clock:
    """A hand-moved clock for issuer and verifier."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def keys():
    return generate_signing_key()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def issuer(keys, clock):
    return TokenIssuer(keys[0], clock=clock)


@pytest.fixture
def revocations(clock):
    return RevocationList(clock=clock)


@pytest.fixture
def verifier(keys, clock, revocations):
    return TokenVerifier(keys[1], revocations=revocations, clock=clock)


def refused(verifier, token, reason):
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token)
    assert caught.value.message == reason
    return caught.value


ROLE_BINDINGS = [
    (Role.ADMIN, {}),
    (Role.TENANT, {"tenant_id": "ten_A"}),
    (Role.BANK, {"bank_id": "bnk_B"}),
    (Role.AGENT, {"node_id": "nod_N"}),
]


@pytest.mark.parametrize(("role", "binding"), ROLE_BINDINGS)
def test_roundtrip_for_each_role(issuer, verifier, role, binding):
    issued = issuer.issue(role, "user-1", scopes=["orders:write", "orders:read"], ttl=HOUR, **binding)
    principal = verifier.verify(issued.token)
    assert principal == Principal(
        subject="user-1",
        role=role,
        token_id=issued.token_id,
        tenant_id=binding.get("tenant_id"),
        bank_id=binding.get("bank_id"),
        node_id=binding.get("node_id"),
        scopes=frozenset({"orders:write", "orders:read"}),
        expires_at=T0 + HOUR,
    )
    assert issued.expires_at == T0 + HOUR
    assert issued.token_id.startswith("tok_")


def test_given_token_id_is_used(issuer, verifier):
    issued = issuer.issue(Role.ADMIN, "ops", ttl=HOUR, token_id="cred_123")
    assert issued.token_id == "cred_123"
    assert verifier.verify(issued.token).token_id == "cred_123"


@pytest.mark.parametrize(("role", "binding"), ROLE_BINDINGS[1:])
def test_bound_roles_need_their_binding(issuer, role, binding):
    with pytest.raises(ValueError):
        issuer.issue(role, "x", ttl=HOUR)
    other = {"tenant_id": "ten_A"} if role is not Role.TENANT else {"bank_id": "bnk_B"}
    with pytest.raises(ValueError):
        issuer.issue(role, "x", ttl=HOUR, **other)


def test_issue_refuses_empty_subject_and_non_positive_ttl(issuer):
    with pytest.raises(ValueError):
        issuer.issue(Role.ADMIN, "", ttl=HOUR)
    with pytest.raises(ValueError):
        issuer.issue(Role.ADMIN, "ops", ttl=timedelta(0))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_flipped_character_in_payload_is_refused(issuer, verifier):
    token = issuer.issue(Role.TENANT, "u", tenant_id="ten_A", ttl=HOUR).token
    header, payload, signature = token.split(".")
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    with pytest.raises(Unauthenticated):
        verifier.verify(".".join([header, flipped, signature]))


def test_payload_rewritten_to_another_tenant_is_refused(issuer, verifier):
    token = issuer.issue(Role.TENANT, "u", tenant_id="ten_A", ttl=HOUR).token
    header, _, signature = token.split(".")
    claims = _claims(token) | {"tid": "ten_OTHER"}
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    refused(verifier, forged, "bad signature")


def test_token_signed_by_another_key_is_refused(verifier, clock):
    stranger = TokenIssuer(generate_signing_key()[0], clock=clock)
    refused(verifier, stranger.issue(Role.ADMIN, "mallory", ttl=HOUR).token, "bad signature")


def test_expiry_with_leeway(issuer, verifier, clock):
    token = issuer.issue(Role.ADMIN, "ops", ttl=HOUR).token
    clock.now = T0 + HOUR + timedelta(seconds=5)
    assert verifier.verify(token).subject == "ops"  # within the 5 s leeway
    clock.now = T0 + HOUR + timedelta(seconds=6)
    refused(verifier, token, "token expired")


def test_token_from_the_future_is_refused(keys, verifier, clock):
    ahead = TokenIssuer(keys[0], clock=Clock(T0 + timedelta(minutes=10)))
    refused(verifier, ahead.issue(Role.ADMIN, "ops", ttl=HOUR).token, "token not yet valid")


def test_revoked_token_is_refused(issuer, verifier, revocations):
    kept = issuer.issue(Role.TENANT, "u", tenant_id="ten_A", ttl=HOUR)
    dropped = issuer.issue(Role.TENANT, "u", tenant_id="ten_A", ttl=HOUR)
    revocations.revoke(dropped.token_id, dropped.expires_at)
    refused(verifier, dropped.token, "token revoked")
    assert verifier.verify(kept.token).token_id == kept.token_id


def test_no_token_is_accepted_before_the_revocations_made_earlier_are_loaded(issuer, keys, clock):
    # a replica that just started knows no revocation yet: answering "retry" is safe, "yes" is not
    revocations = RevocationList(clock=clock, loaded=False)
    verifier = TokenVerifier(keys[1], revocations=revocations, clock=clock)
    token = issuer.issue(Role.TENANT, "u", tenant_id="ten_A", ttl=HOUR)
    with pytest.raises(Unavailable):
        verifier.verify(token.token)
    assert code_for_exception(Unavailable("x")) == grpc.StatusCode.UNAVAILABLE
    revocations.mark_loaded()
    assert verifier.verify(token.token).token_id == token.token_id


def test_wrong_issuer_is_refused(keys, clock, verifier):
    other = TokenIssuer(keys[0], issuer="someone-else", clock=clock)
    refused(verifier, other.issue(Role.ADMIN, "ops", ttl=HOUR).token, "wrong issuer")


def _sign_raw(claims, keys, algorithm="EdDSA"):
    return jwt.encode(claims, load_private_key(keys[0]), algorithm=algorithm)


def _valid_claims(**changes):
    claims = {"iss": "park-os", "sub": "u", "role": "tenant", "jti": "tok_1", "tid": "ten_A",
              "iat": int(T0.timestamp()), "exp": int((T0 + HOUR).timestamp())}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def test_unknown_role_is_refused(keys, verifier):
    refused(verifier, _sign_raw(_valid_claims(role="root"), keys), "unknown role")


def test_tenant_token_without_tenant_is_refused(keys, verifier):
    refused(verifier, _sign_raw(_valid_claims(tid=None), keys), "token not bound to a tenant")
    refused(verifier, _sign_raw(_valid_claims(tid=""), keys), "malformed token")


@pytest.mark.parametrize("missing", ["iss", "sub", "role", "jti", "iat", "exp"])
def test_missing_claims_are_refused(keys, verifier, missing):
    with pytest.raises(Unauthenticated):
        verifier.verify(_sign_raw(_valid_claims(**{missing: None}), keys))


@pytest.mark.parametrize("change", [{"exp": "never"}, {"scp": "admin"}, {"scp": [1]}, {"exp": True}])
def test_ill_typed_claims_are_refused(keys, verifier, change):
    refused(verifier, _sign_raw(_valid_claims(**change), keys), "malformed token")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "a.b", "..."])
def test_garbage_is_refused(verifier, token):
    refused(verifier, token, "malformed token")


def test_alg_none_is_refused(verifier):
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_valid_claims(role="admin")).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        with pytest.raises(Unauthenticated):
            verifier.verify(token)


def test_hs256_forgery_keyed_with_public_key_is_refused(keys, verifier):
    # The classic downgrade: HMAC "signed" with the public key everyone knows.
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_valid_claims(role="admin")).encode())
    mac = hmac.new(keys[1], f"{header}.{payload}".encode(), hashlib.sha256).digest()
    refused(verifier, f"{header}.{payload}.{_b64(mac)}", "bad signature")


def test_other_asymmetric_algorithm_is_refused(verifier):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_valid_claims(), ec_key, algorithm="ES256")
    refused(verifier, token, "bad signature")


def test_keys_must_be_ed25519():
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_private = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ec_public = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError):
        TokenIssuer(ec_private)
    with pytest.raises(ValueError):
        TokenVerifier(ec_public)


def test_key_pair_pems_match(keys):
    private_pem, public_pem = keys
    assert public_key_pem_of(private_pem) == public_pem
    assert load_public_key(public_pem) is not None
    assert b"PRIVATE KEY" in private_pem and b"PRIVATE" not in public_pem


def test_error_messages_do_not_echo_the_token(issuer, verifier, clock):
    token = issuer.issue(Role.ADMIN, "ops", ttl=HOUR).token
    clock.now = T0 + 2 * HOUR
    error = refused(verifier, token, "token expired")
    assert token not in str(error) and token not in repr(error)


def test_revocation_list_forgets_only_after_expiry_and_grace():
    clock = Clock()
    revocations = RevocationList(clock=clock, grace=timedelta(minutes=5))
    revocations.revoke("tok_old", T0 + timedelta(minutes=1))
    revocations.revoke("tok_forever")
    assert len(revocations) == 2
    clock.now = T0 + timedelta(minutes=5)
    revocations.revoke("tok_new", T0 + HOUR)
    assert revocations.is_revoked("tok_old")  # still inside the grace period
    clock.now = T0 + timedelta(minutes=7)
    revocations.revoke("tok_newer", T0 + HOUR)
    assert not revocations.is_revoked("tok_old")
    assert revocations.is_revoked("tok_forever") and revocations.is_revoked("tok_new")
    assert len(revocations) == 3


def test_revoking_again_keeps_the_longest_life():
    clock = Clock()
    revocations = RevocationList(clock=clock, grace=timedelta(0))
    revocations.revoke("tok_a", T0 + timedelta(minutes=1))
    revocations.revoke("tok_a", T0 + HOUR)
    clock.now = T0 + timedelta(minutes=2)
    revocations.revoke("tok_b", T0 + HOUR)
    assert revocations.is_revoked("tok_a")


def test_revocation_list_bounds_memory():
    clock = Clock()
    revocations = RevocationList(clock=clock, grace=timedelta(0))
    for minute in range(1000):
        clock.now = T0 + timedelta(minutes=minute)
        revocations.revoke(f"tok_{minute}", clock.now + timedelta(minutes=10))
    assert len(revocations) <= 12


def test_revocation_list_is_thread_safe():
    revocations = RevocationList()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: revocations.revoke(f"tok_{i}", T0 + HOUR * 10**5), range(5000)))
    assert len(revocations) == 5000
    assert all(revocations.is_revoked(f"tok_{i}") for i in range(5000))


def test_hash_token_secret():
    digest = hash_token_secret("secret-token")
    assert digest == hash_token_secret("secret-token")
    assert digest != hash_token_secret("secret-tokeN")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert "secret" not in digest


def test_a_cached_token_is_still_refused_once_revoked_or_expired() -> None:
    from datetime import UTC, datetime, timedelta

    from parkos.auth import RevocationList, Role, TokenIssuer, TokenVerifier, generate_signing_key
    from parkos.errors import Unauthenticated

    private_pem, public_pem = generate_signing_key()
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    revocations = RevocationList()
    verifier = TokenVerifier(public_pem, revocations=revocations, clock=lambda: now[0])
    issued = TokenIssuer(private_pem, clock=lambda: now[0]).issue(Role.ADMIN, "ops", ttl=timedelta(minutes=5))
    assert verifier.verify(issued.token).subject == "ops"
    assert verifier.verify(issued.token).subject == "ops"  # served from the signature cache
    now[0] += timedelta(minutes=10)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(issued.token)
    now[0] -= timedelta(minutes=10)
    revocations.revoke(issued.token_id, issued.expires_at)
    with pytest.raises(Unauthenticated, match="revoked"):
        verifier.verify(issued.token)


def test_a_cached_token_gives_the_same_verdict_every_time(keys, verifier, clock):
    # The cache keeps the principal a signed token proves; a token whose claims prove none
    # is refused on every call, and expiry still comes first.
    bad_role = _sign_raw(_valid_claims(role="root"), keys)
    for _ in range(3):
        refused(verifier, bad_role, "unknown role")
    good = _sign_raw(_valid_claims(), keys)
    first = verifier.verify(good)
    assert verifier.verify(good) is first  # worked out once
    clock.now = T0 + HOUR + timedelta(seconds=6)
    refused(verifier, good, "token expired")
    refused(verifier, bad_role, "token expired")


def test_a_principal_verified_earlier_lapses_when_its_token_is_revoked_or_expires(issuer, verifier, clock, revocations):
    issued = issuer.issue(Role.TENANT, "u", tenant_id="ten_A", ttl=HOUR)
    principal = verifier.verify(issued.token)
    assert verifier.lapse_of(principal) is None
    clock.now = T0 + HOUR + timedelta(seconds=6)  # past the 5 s leeway
    assert verifier.lapse_of(principal) == "token expired"
    clock.now = T0
    revocations.revoke(issued.token_id, issued.expires_at)
    assert verifier.lapse_of(principal) == "token revoked"
