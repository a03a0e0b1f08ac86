"""A real trades service (gRPC on loopback, real Kafka, real MongoDB-compatible store).

One service per test session, on a database and topics of its own. Tenants reach it as
they would in production, as events on its tenants topic (see ``TenantFeed``); callers
get stubs over real channels with tokens signed by the session's key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from parkos.auth import TokenIssuer
from parkos.mongo import connect_mongo

from services.trades.main import TradesService
from services.trades.settings import TradesSettings
from tests.integration.trades.trades_park import FEE_RATES, SECTORS, TenantFeed, TradesPark


@pytest.fixture(scope="session")
async def trades_park(infra, signing_keys, tmp_path_factory) -> AsyncIterator[TradesPark]:  # type: ignore[no-untyped-def]
    private_pem, public_pem = signing_keys
    key_file = Path(tmp_path_factory.mktemp("trades-keys")) / "token-verify.pem"
    key_file.write_bytes(public_pem)
    settings = TradesSettings(
        grpc_port=0,
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_uri=infra.mongo_uri,
        mongo_database=infra.unique_name("trades_test"),
        token_public_key_file=key_file,
        tenants_topic=infra.unique_name("test.trades.tenants"),
        trades_topic=infra.unique_name("test.trades.trades"),
        dlq_topic=infra.unique_name("test.trades.dlq"),
        directory_group=infra.unique_name("trades-directory-test"),
        pool_close_interval_seconds=0.2,
        page_token_secret="trades-test-page-token-secret",
    )
    service = TradesService(settings)
    await service.start()
    feed = TenantFeed(infra.kafka_bootstrap, settings.tenants_topic)
    await feed.start()
    mongo = connect_mongo(infra.mongo_uri, "trades-tests")
    park = TradesPark(service, feed, TokenIssuer(private_pem), mongo, settings.mongo_database, infra.kafka_bootstrap,
                      settings.trades_topic, settings.dlq_topic)
    try:
        for sub_park_id, bps in FEE_RATES.items():
            await park.set_fee(sub_park_id, bps)
        for sector_id in SECTORS:
            await park.define_sector(sector_id)
        yield park
    finally:
        for channel in park.channels:
            await channel.close()
        await feed.stop()
        await service.stop()
        await mongo.drop_database(settings.mongo_database)
        await mongo.close()


@pytest.fixture(scope="session")
async def trades_replica(trades_park: TradesPark) -> AsyncIterator[TradesService]:
    """A second replica on the same database and topics (same directory group: they share partitions)."""
    settings = trades_park.service.settings.model_copy(update={"grpc_port": 0})  # type: ignore[attr-defined]
    service = TradesService(settings)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
