"""Helpers of the tenants integration tests: the `Park` under test, requests, assertions."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import grpc
from aiokafka import AIOKafkaConsumer
from park.events.v1.envelope_pb2 import Envelope
from park.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from parkos.auth import TokenIssuer
from parkos.grpc import field_violations, open_channel
from pymongo import AsyncMongoClient

from parkos import credit_code
from services.tenants.main import TenantsService


def fresh_credit_code(rng: random.Random = random.Random()) -> str:
    """A valid credit code no other test uses (both check characters computed)."""
    return credit_code.random_code(rng)


def registration(**overrides: object) -> tenants_pb2.RegisterTenantRequest:
    """A valid RegisterTenantRequest with a fresh credit code; ``overrides`` replace fields."""
    fields: dict[str, object] = {
        "legal_name": "Jinzhong Coking Data Co., Ltd.",
        "credit_code": fresh_credit_code(),
        "sub_park_id": "sp-energy",
        "sector_id": "sec-digital-energy",
        "contacts": [tenants_pb2.Contact(name="Li Wei", title="finance", email="li.wei@example.cn")],
        "description": "Coking plant sensor datasets",
    }
    fields.update(overrides)
    return tenants_pb2.RegisterTenantRequest(**fields)


def violated_fields(error: grpc.RpcError) -> set[str]:
    return {name for name, _ in field_violations(error)}


@dataclass
class Park:
    """The running service and what tests need to talk to it and look inside it."""

    service: TenantsService
    admin_token: str
    issuer: TokenIssuer
    mongo: AsyncMongoClient
    database: str
    kafka_bootstrap: str
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.service.port}"

    def channel(self, token: str | None, target: str | None = None) -> grpc.aio.Channel:
        channel = open_channel(target or self.target, token=token)
        self.channels.append(channel)
        return channel

    def stub(self, token: str | None, target: str | None = None) -> tenants_pb2_grpc.TenantsServiceStub:
        return tenants_pb2_grpc.TenantsServiceStub(self.channel(token, target))

    @cached_property
    def admin(self) -> tenants_pb2_grpc.TenantsServiceStub:
        return self.stub(self.admin_token)

    async def register_active(self, **overrides: object) -> tenants_pb2.Tenant:
        """A registered tenant, already ACTIVE."""
        tenant = await self.admin.RegisterTenant(registration(**overrides))
        return await self.admin.ChangeStatus(
            tenants_pb2.ChangeStatusRequest(tenant_id=tenant.tenant_id, status=tenants_pb2.TENANT_STATUS_ACTIVE)
        )

    async def tenant_token(self, tenant_id: str) -> tenants_pb2.IssueCredentialResponse:
        return await self.admin.IssueCredential(
            tenants_pb2.IssueCredentialRequest(role=tenants_pb2.ROLE_TENANT, tenant_id=tenant_id, label="test app")
        )

    async def counts(self) -> dict[str, int]:
        """Documents per collection: proof that a refused call wrote nothing."""
        db = self.mongo[self.database]
        names = ("tenants", "credentials", "revenue_reports", "outbox")
        return {name: await db[name].count_documents({}) for name in names}

    async def events(self, keys: Iterable[str], *, expect: int, timeout: float = 20.0) -> list[Envelope]:
        """Envelopes on the service's tenants topic whose record key is in ``keys``, in topic order per key."""
        wanted = set(keys)
        consumer = AIOKafkaConsumer(
            self.service.settings.tenants_topic, bootstrap_servers=self.kafka_bootstrap, group_id=None,
            auto_offset_reset="earliest", enable_auto_commit=False, isolation_level="read_committed",
        )
        await consumer.start()
        found: list[Envelope] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while len(found) < expect and loop.time() < deadline:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    found.extend(Envelope.FromString(r.value) for r in records if r.key.decode() in wanted)
        finally:
            await consumer.stop()
        return found
