"""Authorization: roles and tenant/bank binding decide who may act."""

from datetime import timedelta

import pytest

from parkos.auth import (
    Principal,
    Role,
    TokenIssuer,
    TokenVerifier,
    generate_signing_key,
    require_admin,
    require_bank_access,
    require_role,
    require_tenant_access,
)
from parkos.errors import PermissionDenied

ADMIN = Principal("ops", Role.ADMIN, "tok_1")
TENANT_A = Principal("alice", Role.TENANT, "tok_2", tenant_id="ten_A")
BANK_B = Principal("bank-ops", Role.BANK, "tok_3", bank_id="bnk_B")
AGENT = Principal("node-agent", Role.AGENT, "tok_4", node_id="nod_N")


def test_tenant_cannot_act_for_another_tenant():
    require_tenant_access(TENANT_A, "ten_A")
    with pytest.raises(PermissionDenied) as caught:
        require_tenant_access(TENANT_A, "ten_B")
    assert "ten_B" not in caught.value.message


def test_admin_may_act_for_any_tenant():
    require_tenant_access(ADMIN, "ten_A")
    require_tenant_access(ADMIN, "ten_B")
    assert ADMIN.is_admin() and not TENANT_A.is_admin()


@pytest.mark.parametrize("principal", [BANK_B, AGENT])
def test_non_tenant_roles_have_no_tenant_access(principal):
    with pytest.raises(PermissionDenied):
        require_tenant_access(principal, "ten_A")


def test_a_tenant_bound_to_nothing_matches_nothing():
    unbound = Principal("x", Role.TENANT, "tok_5", tenant_id=None)
    assert not unbound.may_act_for_tenant("")
    assert not unbound.may_act_for_tenant(None)  # type: ignore[arg-type]
    assert not TENANT_A.may_act_for_tenant("")


def test_wrong_role_is_denied():
    require_role(BANK_B, Role.BANK, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        require_role(TENANT_A, Role.BANK, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        require_role(AGENT, Role.TENANT)


def test_require_role_needs_roles():
    with pytest.raises(ValueError):
        require_role(ADMIN)


def test_only_admin_passes_require_admin():
    require_admin(ADMIN)
    for principal in (TENANT_A, BANK_B, AGENT):
        with pytest.raises(PermissionDenied):
            require_admin(principal)


def test_bank_sees_only_its_own_loans():
    require_bank_access(BANK_B, "bnk_B")
    require_bank_access(ADMIN, "bnk_B")
    for principal, bank in ((BANK_B, "bnk_C"), (TENANT_A, "bnk_B"), (AGENT, "bnk_B")):
        with pytest.raises(PermissionDenied):
            require_bank_access(principal, bank)


def test_verified_tenant_token_is_confined_to_its_tenant():
    private_pem, public_pem = generate_signing_key()
    token = TokenIssuer(private_pem).issue(
        Role.TENANT, "alice", tenant_id="ten_A", ttl=timedelta(minutes=5)
    ).token
    principal = TokenVerifier(public_pem).verify(token)
    require_tenant_access(principal, "ten_A")
    with pytest.raises(PermissionDenied):
        require_tenant_access(principal, "ten_B")
    with pytest.raises(PermissionDenied):
        require_admin(principal)
