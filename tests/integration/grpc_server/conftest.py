"""A probe server per test module: the Park OS gRPC bootstrap on loopback, real client channels."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from parkos.auth import RevocationList, TokenIssuer, TokenVerifier, generate_signing_key
from parkos.grpc import GrpcServer
from tests.integration.grpc_server.probe_service import SERVICE, Park, Probe


@pytest.fixture(scope="module")
async def park() -> AsyncIterator[Park]:
    private_pem, public_pem = generate_signing_key()
    revocations = RevocationList()
    probe = Probe()
    server = GrpcServer(
        verifier=TokenVerifier(public_pem, revocations=revocations),
        port=0,
        public_methods=[f"{SERVICE}/Public"],
    )
    # Whoami needs a scope of scoped tokens; the other calls name none, so no scoped token may make them
    server.add_generic_handler(probe.generic_handler(), SERVICE, {"Whoami": "orders:read"})
    await server.start()
    yield Park(server, probe, TokenIssuer(private_pem), revocations, private_pem)
    await server.stop(grace=1)
