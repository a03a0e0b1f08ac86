"""Transport security: a server with mutual TLS talks only to clients with a certificate its CA
signed, and its plaintext health port answers health checks and nothing else.

Real sockets on loopback, certificates made for the test (a CA, the server's, a client's).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from park.common.v1.money_pb2 import Money

from parkos.auth import TokenVerifier, generate_signing_key
from parkos.config import ParkSettings
from parkos.grpc import GrpcServer, open_channel, transport_options
from tests.integration.grpc_server.probe_service import SERVICE, Probe, stub
from tests.support.certificates import Pem, new_ca


@dataclass
class Secured:
    server: GrpcServer
    ca: Pem
    client: Pem
    stranger: Pem  # signed by another CA
    folder: Path  # ca.crt, client.crt, client.key, and the server's files

    def credentials(self, client: Pem | None) -> grpc.ChannelCredentials:
        if client is None:
            return grpc.ssl_channel_credentials(root_certificates=self.ca.cert)
        return grpc.ssl_channel_credentials(self.ca.cert, client.key, client.cert)


@pytest.fixture(scope="module")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Secured]:
    folder: Path = tmp_path_factory.mktemp("tls")
    park_ca, other_ca = new_ca("park-os test CA"), new_ca("another CA")
    ca, server_pem, client = park_ca.pem, park_ca.sign("tenants"), park_ca.sign("trades")
    stranger = other_ca.sign("stranger")
    files = {"tls.crt": server_pem.cert, "tls.key": server_pem.key, "ca.crt": ca.cert,
             "client.crt": client.cert, "client.key": client.key}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    settings = ParkSettings(tls_cert_file=folder / "tls.crt", tls_key_file=folder / "tls.key",
                            tls_ca_file=folder / "ca.crt", grpc_health_port=0)
    _, public_pem = generate_signing_key()
    server = GrpcServer(verifier=TokenVerifier(public_pem), port=0, public_methods=[f"{SERVICE}/Public"],
                        **transport_options(settings))
    server.add_generic_handler(Probe().generic_handler(), SERVICE)
    await server.start()
    yield Secured(server, ca, client, stranger, folder)
    await server.stop(grace=1)


async def _public(target: str, credentials: grpc.ChannelCredentials | None) -> Money:
    channel = open_channel(target, credentials=credentials)
    try:
        return await stub(channel, "unary_unary", "Public")(Money(), timeout=5)
    finally:
        await channel.close()


async def test_a_client_with_a_certificate_the_ca_signed_is_served(secured: Secured) -> None:
    reply = await _public(f"localhost:{secured.server.port}", secured.credentials(secured.client))
    assert reply.currency == "anonymous"


@pytest.mark.parametrize("who", ["no certificate", "another CA's certificate", "plaintext"])
async def test_anyone_else_is_turned_away(secured: Secured, who: str) -> None:
    credentials = {
        "no certificate": secured.credentials(None),
        "another CA's certificate": secured.credentials(secured.stranger),
        "plaintext": None,
    }[who]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _public(f"localhost:{secured.server.port}", credentials)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_plaintext_health_port_answers_health_and_nothing_else(secured: Secured) -> None:
    assert secured.server.health_port not in (0, secured.server.port)
    target = f"127.0.0.1:{secured.server.health_port}"
    channel = grpc.aio.insecure_channel(target)
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await channel.close()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _public(target, None)
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_half_a_tls_configuration_or_a_missing_file_is_refused_at_start(tmp_path: Path) -> None:
    present = tmp_path / "present.pem"
    present.write_bytes(b"-----BEGIN CERTIFICATE-----")
    with pytest.raises(ValueError, match="go together"):
        ParkSettings(tls_cert_file=present)
    with pytest.raises(ValueError, match="needs the server's certificate"):
        ParkSettings(tls_ca_file=present)
    with pytest.raises(ValueError, match="does not point to a file"):
        ParkSettings(tls_cert_file=tmp_path / "missing.pem", tls_key_file=present)


async def test_the_health_port_cannot_share_the_main_port(secured: Secured) -> None:
    _, public_pem = generate_signing_key()
    server = GrpcServer(verifier=TokenVerifier(public_pem), port=0, health_port=secured.server.port)
    with pytest.raises(RuntimeError):
        await server.start()
    with pytest.raises(ValueError, match="must differ"):
        ParkSettings(grpc_port=50051, grpc_health_port=50051)


async def test_a_health_port_that_cannot_be_bound_leaves_nothing_listening() -> None:
    _, public_pem = generate_signing_key()
    with socket.socket() as taken:  # held without SO_REUSEPORT, so gRPC cannot share it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = GrpcServer(verifier=TokenVerifier(public_pem), port=0, health_port=taken.getsockname()[1])
        with pytest.raises(RuntimeError):
            await server.start()
    assert server.port != 0
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        with pytest.raises(grpc.aio.AioRpcError):
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
    finally:
        await channel.close()


def _parkctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "parkctl.cli", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})


async def test_parkctl_speaks_mutual_tls_when_given_the_ca_and_its_certificate(secured: Secured) -> None:
    target = ["--tenants-target", f"localhost:{secured.server.port}", "--token", "t"]
    tls = ["--tls-ca", str(secured.folder / "ca.crt"), "--tls-cert", str(secured.folder / "client.crt"),
           "--tls-key", str(secured.folder / "client.key")]
    # the probe server serves no tenants API: UNIMPLEMENTED means the handshake went through
    through = await asyncio.to_thread(_parkctl, *target, *tls, "tenants", "get", "ten_x")
    assert "UNIMPLEMENTED" in through.stderr, through.stderr
    plaintext = await asyncio.to_thread(_parkctl, *target, "tenants", "get", "ten_x")
    assert "UNAVAILABLE" in plaintext.stderr, plaintext.stderr
    # through a port-forward the target is 127.0.0.1, which the certificate names not as a DNS name
    forwarded = ["--tenants-target", f"127.0.0.1:{secured.server.port}", "--token", "t"]
    unnamed = await asyncio.to_thread(_parkctl, *forwarded, *tls, "tenants", "get", "ten_x")
    assert "UNAVAILABLE" in unnamed.stderr, unnamed.stderr
    renamed = await asyncio.to_thread(_parkctl, *forwarded, *tls, "--tls-server-name", "localhost",
                                      "tenants", "get", "ten_x")
    assert "UNIMPLEMENTED" in renamed.stderr, renamed.stderr
    half = await asyncio.to_thread(_parkctl, *target, "--tls-cert", str(secured.folder / "client.crt"),
                                   "tenants", "get", "ten_x")
    assert half.returncode == 2 and "needs its key" in half.stderr, half.stderr
