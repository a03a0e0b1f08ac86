"""A certificate renewed on disk reaches new connections without a restart, and open ones stay up.

Real sockets on loopback: a mutual-TLS server whose certificate files are rewritten, as
cert-manager rewrites a mounted Secret, with a certificate from another CA, so a client can
tell which certificate it was shown.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from park.common.v1.money_pb2 import Money

from parkos.auth import TokenVerifier, generate_signing_key
from parkos.config import ParkSettings
from parkos.grpc import GrpcServer, open_channel, transport_options
from tests.integration.grpc_server.probe_service import SERVICE, Probe, stub
from tests.support.certificates import Issuer, Pem, new_ca


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[GrpcServer, Path, Issuer]]:
    park_ca = new_ca("park-os test CA")
    park_ca.sign("tenants").write(tmp_path / "tls.crt", tmp_path / "tls.key")
    (tmp_path / "ca.crt").write_bytes(park_ca.pem.cert)
    settings = ParkSettings(tls_cert_file=tmp_path / "tls.crt", tls_key_file=tmp_path / "tls.key",
                            tls_ca_file=tmp_path / "ca.crt")
    _, public_pem = generate_signing_key()
    server = GrpcServer(verifier=TokenVerifier(public_pem), port=0, public_methods=[f"{SERVICE}/Public"],
                        **transport_options(settings))
    server.add_generic_handler(Probe().generic_handler(), SERVICE)
    await server.start()
    yield server, tmp_path, park_ca
    await server.stop(grace=1)


def _trusting(ca: Pem, client: Pem) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(ca.cert, client.key, client.cert)


async def _call(channel: grpc.aio.Channel) -> None:
    await stub(channel, "unary_unary", "Public")(Money(), timeout=5)


async def _served_to_a_new_connection(target: str, credentials: grpc.ChannelCredentials) -> bool:
    channel = open_channel(target, credentials=credentials)
    try:
        await _call(channel)
        return True
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.UNAVAILABLE, error
        return False
    finally:
        await channel.close()


def _replace(path: Path, data: bytes) -> None:
    # written beside and renamed over, as a Secret volume swaps its files in one step
    beside = path.with_suffix(".new")
    beside.write_bytes(data)
    beside.replace(path)


async def test_a_renewed_certificate_is_served_to_new_connections(served: tuple[GrpcServer, Path, Issuer]) -> None:
    server, folder, park_ca = served
    target = f"localhost:{server.port}"
    client = park_ca.sign("trades")
    renewing_ca = new_ca("renewing CA")
    open_before = open_channel(target, credentials=_trusting(park_ca.pem, client))
    try:
        await _call(open_before)
        assert not await _served_to_a_new_connection(target, _trusting(renewing_ca.pem, client))

        renewed = renewing_ca.sign("tenants")
        _replace(folder / "tls.key", renewed.key)
        _replace(folder / "tls.crt", renewed.cert)
        deadline = asyncio.get_running_loop().time() + 10
        while not await _served_to_a_new_connection(target, _trusting(renewing_ca.pem, client)):
            assert asyncio.get_running_loop().time() < deadline, "the renewed certificate was never served"
            await asyncio.sleep(0.2)

        assert not await _served_to_a_new_connection(target, _trusting(park_ca.pem, client))
        await _call(open_before)  # the connection made before the renewal is not dropped
    finally:
        await open_before.close()


async def test_a_broken_renewal_leaves_the_certificate_in_service(served: tuple[GrpcServer, Path, Issuer]) -> None:
    server, folder, park_ca = served
    target = f"localhost:{server.port}"
    client = park_ca.sign("trades")
    _replace(folder / "tls.key", new_ca("unrelated").sign("tenants").key)  # a key of another certificate
    await asyncio.sleep(1.5)  # past the once-a-second look at the files
    for _ in range(3):
        assert await _served_to_a_new_connection(target, _trusting(park_ca.pem, client))
