"""Helpers of the trades tests: the tenants service's side of the contract, and the `TradesPark` under test.

Trades learns tenants only from park.tenants.v1. The tests play the tenants service's
part with ``TenantFeed``: it publishes the very events the tenants service publishes
(TenantRegistered, TenantStatusChanged, SubParkDefined, CredentialRevoked: real
park.tenants.v1 payloads in real envelopes) to a topic of the test session's own, so
the trades service under test consumes exactly what it would in production, and other
test sessions' tenants never leak in.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

import grpc
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from park.events.v1.envelope_pb2 import Envelope
from park.tenants.v1 import events_pb2 as tenant_events
from park.tenants.v1 import tenants_pb2
from park.trades.v1 import events_pb2, trades_pb2, trades_pb2_grpc
from parkos.auth import Role, TokenIssuer
from parkos.events import build_envelope, envelope_headers, unpack_payload
from parkos.grpc import field_violations, open_channel
from parkos.ids import new_id
from pymongo import AsyncMongoClient

STATUS = {
    "pending": tenants_pb2.TENANT_STATUS_PENDING,
    "active": tenants_pb2.TENANT_STATUS_ACTIVE,
    "suspended": tenants_pb2.TENANT_STATUS_SUSPENDED,
    "offboarded": tenants_pb2.TENANT_STATUS_OFFBOARDED,
}
# The sub-parks the feed defines at the start of a session, with their fee rates.
FEE_RATES = {"sp-hq": 300, "sp-energy": 250, "sp-ai": 300, "sp-media": 350, "sp-data-services": 200}
SECTORS = ("sec-digital-energy", "sec-ai-model-services", "sec-data-services")
COLLECTIONS = ("products", "orders", "settlements", "licenses", "refunds", "pools", "outbox")
_keys = itertools.count()


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC))
    return stamp


@dataclass
class FeedTenant:
    """A tenant as the feed last published it."""

    tenant_id: str
    sub_park_id: str
    sector_id: str
    status: str
    version: int


class TenantFeed:
    """Publishes park.tenants.v1 events as the tenants service does, to the session's topic."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self.topic = topic
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=True)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def publish(self, payload: Message, key: str, tenant_id: str = "") -> Envelope:
        assert self._producer is not None
        envelope = build_envelope(payload, producer="tenants", aggregate_id=key, tenant_id=tenant_id)
        await self._producer.send_and_wait(self.topic, envelope.SerializeToString(), key=key.encode(),
                                           headers=envelope_headers(envelope))
        return envelope

    async def send_raw(self, key: str, value: bytes) -> None:
        assert self._producer is not None
        await self._producer.send_and_wait(self.topic, value, key=key.encode())

    async def define_sub_park(self, sub_park_id: str, trade_fee_bps: int) -> Envelope:
        sub_park = tenants_pb2.SubPark(sub_park_id=sub_park_id, name=sub_park_id, trade_fee_bps=trade_fee_bps)
        return await self.publish(tenant_events.SubParkDefined(sub_park=sub_park, defined_at=_now()), sub_park_id)

    async def define_sector(self, sector_id: str) -> Envelope:
        sector = tenants_pb2.Sector(sector_id=sector_id, name=sector_id)
        return await self.publish(tenant_events.SectorDefined(sector=sector, defined_at=_now()), sector_id)

    async def register(self, *, sub_park_id: str = "sp-energy", sector_id: str = "sec-digital-energy",
                       status: str = "active") -> FeedTenant:
        """A new tenant: TenantRegistered (pending), then TenantStatusChanged to ``status`` unless pending."""
        tenant = FeedTenant(new_id("ten"), sub_park_id, sector_id, "pending", 1)
        await self.publish(tenant_events.TenantRegistered(tenant=self._proto(tenant), registered_by="admin:feed"),
                           tenant.tenant_id, tenant.tenant_id)
        if status != "pending":
            await self.change_status(tenant, status)
        return tenant

    async def change_status(self, tenant: FeedTenant, status: str) -> None:
        before = tenant.status
        tenant.status, tenant.version = status, tenant.version + 1
        event = tenant_events.TenantStatusChanged(tenant=self._proto(tenant), from_status=STATUS[before],
                                                  to_status=STATUS[status], reason="test", changed_by="admin:feed")
        await self.publish(event, tenant.tenant_id, tenant.tenant_id)

    async def revoke(self, credential_id: str, tenant_id: str) -> None:
        event = tenant_events.CredentialRevoked(credential_id=credential_id, role=tenants_pb2.ROLE_TENANT,
                                                tenant_id=tenant_id, revoked_at=_now(), reason="test")
        await self.publish(event, credential_id, tenant_id)

    @staticmethod
    def _proto(tenant: FeedTenant) -> tenants_pb2.Tenant:
        return tenants_pb2.Tenant(
            tenant_id=tenant.tenant_id, legal_name=f"Enterprise {tenant.tenant_id[-6:]}", sub_park_id=tenant.sub_park_id,
            sector_id=tenant.sector_id, status=STATUS[tenant.status], version=tenant.version,
            registered_at=_now(), updated_at=_now(),
        )


def listing(**overrides: object) -> trades_pb2.ListProductRequest:
    """A valid ListProductRequest; ``overrides`` replace fields."""
    fields: dict[str, object] = {
        "title": "Coke oven sensor readings, 2024",
        "description": "Hourly temperature and pressure of 12 coke ovens, calibrated monthly.",
        "delivery": events_pb2.DELIVERY_DATASET,
        "price": {"amount_minor": 12_000_00, "currency": "CNY"},
        "license": {"duration_days": 365, "permitted_uses": [trades_pb2.PERMITTED_USE_INTERNAL_ANALYTICS]},
        "classification_level": 2,
        "quality_statement": "Complete and deduplicated.",
    }
    fields.update(overrides)
    return trades_pb2.ListProductRequest(**fields)


def fresh_key(prefix: str = "order") -> str:
    return f"{prefix}-{next(_keys):06d}-{new_id('key')[-8:]}"


def violated_fields(error: grpc.RpcError) -> set[str]:
    return {name for name, _ in field_violations(error)}


@dataclass
class Trader:
    """A tenant known to trades, with a token and a stub of its own."""

    tenant: FeedTenant
    token: str
    token_id: str
    stub: trades_pb2_grpc.TradesServiceStub

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id


@dataclass
class TradesPark:
    """The running trades service, the tenants feed, and what tests need to look inside."""

    service: object  # services.trades.main.TradesService
    feed: TenantFeed
    issuer: TokenIssuer
    mongo: AsyncMongoClient
    database: str
    kafka_bootstrap: str
    trades_topic: str
    dlq_topic: str
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.service.port}"  # type: ignore[attr-defined]

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.mongo[self.database]

    def stub(self, token: str | None, target: str | None = None) -> trades_pb2_grpc.TradesServiceStub:
        channel = open_channel(target or self.target, token=token)
        self.channels.append(channel)
        return trades_pb2_grpc.TradesServiceStub(channel)

    def token(self, role: Role, subject: str, **bindings: str) -> tuple[str, str]:
        issued = self.issuer.issue(role, subject, ttl=timedelta(hours=1), **bindings)
        return issued.token, issued.token_id

    @cached_property
    def admin(self) -> trades_pb2_grpc.TradesServiceStub:
        return self.stub(self.token(Role.ADMIN, "admin:test-operator")[0])

    async def trader(self, **registration: str) -> Trader:
        """A new tenant registered through the feed, once trades has applied its events."""
        tenant = await self.feed.register(**registration)
        await self.wait_known(tenant)
        token, token_id = self.token(Role.TENANT, tenant.tenant_id, tenant_id=tenant.tenant_id)
        return Trader(tenant, token, token_id, self.stub(token))

    async def wait_known(self, tenant: FeedTenant, timeout: float = 20.0) -> None:
        """Until trades' directory holds the tenant at its newest published version."""
        await self.wait_for(lambda: self._known_at(tenant.tenant_id, tenant.version), timeout,
                            f"trades never learned {tenant.tenant_id} v{tenant.version}")

    async def set_status(self, trader: Trader | FeedTenant, status: str) -> None:
        tenant = trader.tenant if isinstance(trader, Trader) else trader
        await self.feed.change_status(tenant, status)
        await self.wait_known(tenant)

    async def set_fee(self, sub_park_id: str, trade_fee_bps: int) -> None:
        await self.feed.define_sub_park(sub_park_id, trade_fee_bps)

        async def applied() -> bool:
            document = await self.db.directory.find_one({"_id": f"fee_rate/{sub_park_id}"})
            return document is not None and document["trade_fee_bps"] == trade_fee_bps

        await self.wait_for(applied, 20.0, f"trades never learned the fee of {sub_park_id}")

    async def define_sector(self, sector_id: str) -> None:
        await self.feed.define_sector(sector_id)

        async def applied() -> bool:
            return await self.db.directory.find_one({"_id": f"sector/{sector_id}"}) is not None

        await self.wait_for(applied, 20.0, f"trades never learned the sector {sector_id}")

    async def approved_product(self, seller: Trader, **overrides: object) -> trades_pb2.Product:
        product = await seller.stub.ListProduct(listing(**overrides))
        return await self.admin.ReviewProduct(trades_pb2.ReviewProductRequest(
            product_id=product.product_id, decision=trades_pb2.REVIEW_DECISION_APPROVE,
            security_assessment_ref="SA-TEST-1"))

    async def counts(self) -> dict[str, int]:
        """Documents per collection: proof that a refused call wrote nothing."""
        return {name: await self.db[name].count_documents({}) for name in COLLECTIONS}

    async def wait_for(self, predicate, timeout: float, message: str) -> None:  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await predicate():
            assert loop.time() < deadline, message
            await asyncio.sleep(0.05)

    async def _known_at(self, tenant_id: str, version: int) -> bool:
        document = await self.db.directory.find_one({"_id": tenant_id})
        return document is not None and document["version"] >= version

    async def events(self, keys: Iterable[str], *, expect: int, timeout: float = 20.0) -> list[Envelope]:
        """Envelopes on the session's trades topic whose key is in ``keys``, in topic order per key."""
        return await read_envelopes(self.kafka_bootstrap, self.trades_topic, keys=set(keys), expect=expect,
                                    timeout=timeout)


async def read_envelopes(
    bootstrap: str, topic: str, *, keys: set[str] | None = None, expect: int, timeout: float = 20.0
) -> list[Envelope]:
    """Envelopes of ``topic`` (those keyed by ``keys`` when given), until ``expect`` arrived or time is up."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, isolation_level="read_committed")
    await consumer.start()
    found: list[Envelope] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while len(found) < expect and loop.time() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(Envelope.FromString(r.value) for r in records if keys is None or r.key.decode() in keys)
    finally:
        await consumer.stop()
    return found


def payloads(envelopes: Iterable[Envelope], message_class: type[Message]) -> list:  # type: ignore[type-arg]
    """The payloads of the envelopes of one type, in order."""
    name = message_class.DESCRIPTOR.full_name
    return [unpack_payload(e, message_class) for e in envelopes if e.type == name]
