"""Every call is authenticated by its bearer token, and authorized by the principal's role.

Missing, tampered, expired, revoked or malformed tokens are UNAUTHENTICATED; the wrong
role is PERMISSION_DENIED; a public method accepts anonymous callers but still checks a
token that is sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import structlog
from park.common.v1.money_pb2 import Money

from parkos.auth import Role, TokenIssuer
from parkos.ids import new_id
from tests.integration.grpc_server.probe_service import Park, failure, stub


async def test_call_without_token_is_unauthenticated(park: Park) -> None:
    async with park.channel() as channel:
        error = await failure(stub(channel, "unary_unary", "Whoami")(Money()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "missing bearer token"


async def test_tampered_token_is_unauthenticated(park: Park) -> None:
    header, payload, signature = park.token().split(".")
    forged_payload = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    for forged in (f"{header}.{forged_payload}.{signature}", f"{header}.{payload}.{signature[::-1]}"):
        async with park.channel(token=forged) as channel:
            error = await failure(stub(channel, "unary_unary", "Whoami")(Money()))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_expired_token_is_unauthenticated(park: Park) -> None:
    an_hour_ago = TokenIssuer(park.private_pem, clock=lambda: datetime.now(UTC) - timedelta(hours=1))
    token = an_hour_ago.issue(Role.TENANT, "late", tenant_id=new_id("ten"), ttl=timedelta(minutes=5)).token
    async with park.channel(token=token) as channel:
        error = await failure(stub(channel, "unary_unary", "Whoami")(Money()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "token expired"


async def test_revoked_token_is_unauthenticated(park: Park) -> None:
    issued = park.issuer.issue(Role.TENANT, "revoked", tenant_id=new_id("ten"), ttl=timedelta(minutes=5))
    async with park.channel(token=issued.token) as channel:
        whoami = stub(channel, "unary_unary", "Whoami")
        assert (await whoami(Money())).currency == "tenant"
        park.revocations.revoke(issued.token_id, issued.expires_at)
        error = await failure(whoami(Money()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "token revoked"


async def test_malformed_authorization_header_is_unauthenticated(park: Park) -> None:
    async with park.channel() as channel:
        call = stub(channel, "unary_unary", "Whoami")(Money(), metadata=(("authorization", "Basic dXNlcjpwdw=="),))
        error = await failure(call)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_wrong_role_is_permission_denied(park: Park) -> None:
    async with park.channel(token=park.token(Role.TENANT)) as channel:
        error = await failure(stub(channel, "unary_unary", "AdminOnly")(Money()))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    async with park.channel(token=park.token(Role.ADMIN)) as channel:
        assert await stub(channel, "unary_unary", "AdminOnly")(Money(amount_minor=7)) == Money(amount_minor=7)


async def test_public_method_accepts_anonymous_callers_but_checks_tokens_sent(park: Park) -> None:
    async with park.channel(token=park.token(Role.BANK)) as channel:
        assert (await stub(channel, "unary_unary", "Public")(Money())).currency == "bank"
    async with park.channel() as channel:  # the bank principal must not leak into this call
        assert (await stub(channel, "unary_unary", "Public")(Money())).currency == "anonymous"
    async with park.channel(token="not-a-token") as channel:
        error = await failure(stub(channel, "unary_unary", "Public")(Money()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_scoped_token_makes_only_the_calls_needing_its_scopes_and_is_logged_when_refused(park: Park) -> None:
    async with park.channel(token=park.token(Role.TENANT, scopes=("orders:read",))) as channel:
        assert await stub(channel, "unary_unary", "Whoami")(Money())  # Whoami needs orders:read
        assert (await stub(channel, "unary_unary", "Public")(Money())).currency == "tenant"  # open to anyone
        with structlog.testing.capture_logs() as logs:
            error = await failure(stub(channel, "unary_unary", "Duplicate")(Money()))  # names no scope
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and "not open to scoped tokens" in error.details()
    [line] = [entry for entry in logs if entry["event"] == "rpc"]
    assert (line["code"], line["role"]) == ("PERMISSION_DENIED", "tenant")  # who was refused, for the audit
    async with park.channel(token=park.token(Role.TENANT, scopes=("analytics:read",))) as channel:
        error = await failure(stub(channel, "unary_unary", "Whoami")(Money()))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and "needs scope orders:read" in error.details()
