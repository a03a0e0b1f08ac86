"""A real tenants service (gRPC on loopback, real Kafka, real MongoDB-compatible store).

One service per test session, on a database of its own. Callers get stubs over real
channels with real tokens: an admin token is signed with the test key the way an
operator bootstraps the first admin; every other token comes from IssueCredential.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from parkos.auth import Role, TokenIssuer
from parkos.mongo import connect_mongo

from services.tenants.main import TenantsService
from services.tenants.settings import TenantsSettings
from tests.integration.tenants.tenants_park import Park


@pytest.fixture(scope="session")
async def park(infra, signing_keys, tmp_path_factory) -> AsyncIterator[Park]:  # type: ignore[no-untyped-def]
    private_pem, _public_pem = signing_keys
    key_file = Path(tmp_path_factory.mktemp("keys")) / "token-signing.pem"
    key_file.write_bytes(private_pem)
    database = infra.unique_name("tenants_test")
    settings = TenantsSettings(
        grpc_port=0,
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_uri=infra.mongo_uri,
        mongo_database=database,
        token_private_key_file=key_file,
        tenants_topic=infra.unique_name("test.tenants"),
    )
    service = TenantsService(settings)
    await service.start()
    issuer = TokenIssuer(private_pem)
    admin = issuer.issue(Role.ADMIN, "admin:test-operator", ttl=timedelta(hours=2))
    mongo = connect_mongo(infra.mongo_uri, "tenants-tests")
    park = Park(service, admin.token, issuer, mongo, database, infra.kafka_bootstrap)
    try:
        yield park
    finally:
        for channel in park.channels:
            await channel.close()
        await service.stop()
        await mongo.drop_database(database)
        await mongo.close()


@pytest.fixture(scope="session")
async def replica(park: Park) -> AsyncIterator[TenantsService]:
    """A second replica on the same database; its tenant cache lives 60 s, so only events refresh it."""
    settings = park.service.settings.model_copy(update={"grpc_port": 0, "tenant_cache_seconds": 60.0})
    service = TenantsService(settings)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
