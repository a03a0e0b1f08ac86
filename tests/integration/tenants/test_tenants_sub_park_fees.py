"""Sub-park fee rates reach the trades service through Kafka: SubParkDefined when a sub-park is
seeded (once) and whenever an admin changes its rate with SetTradeFee; the sectors, as
SectorDefined when each is seeded (once)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from aiokafka import AIOKafkaConsumer
from park.events.v1.envelope_pb2 import Envelope
from park.tenants.v1 import events_pb2, tenants_pb2
from parkos.events import payload_type_name, unpack_payload

from services.tenants import documents
from services.tenants.main import TenantsService
from services.tenants.reference_data import SECTORS, SUB_PARKS
from tests.integration.tenants.tenants_park import Park, violated_fields

pytestmark = pytest.mark.infra

SUB_PARK_DEFINED = payload_type_name(events_pb2.SubParkDefined)
SECTOR_DEFINED = payload_type_name(events_pb2.SectorDefined)


async def _defined_rows(park: Park, event_type: str = SUB_PARK_DEFINED) -> list[dict]:
    """This database's outbox rows of SubParkDefined (or ``event_type``), oldest first."""
    outbox = park.mongo[park.database]["outbox"]
    return await outbox.find({"type": event_type}).sort("_id", 1).to_list()


async def _published(park: Park, event_ids: set[str], timeout: float = 20.0) -> dict[str, Envelope]:
    """The envelopes with these event ids on park.tenants.v1 (reads until all are seen or time is up)."""
    consumer = AIOKafkaConsumer(
        park.service.settings.tenants_topic, bootstrap_servers=park.kafka_bootstrap, group_id=None, auto_offset_reset="earliest",
        enable_auto_commit=False, isolation_level="read_committed",
    )
    await consumer.start()
    found: dict[str, Envelope] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while len(found) < len(event_ids) and loop.time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for record in records:
                    if record.headers and dict(record.headers).get("event_id", b"").decode() in event_ids:
                        envelope = Envelope.FromString(record.value)
                        found[envelope.event_id] = envelope
    finally:
        await consumer.stop()
    return found


async def _sub_parks(park: Park) -> dict[str, int]:
    documents = await park.mongo[park.database]["sub_parks"].find().to_list()
    return {document["_id"]: document["trade_fee_bps"] for document in documents}


async def _seeded_once(park: Park, payload: type, ids: list[str]) -> list[tuple[Envelope, Any]]:
    """The ``payload`` events seeding published, with their payloads: one per id, keyed by it, all on Kafka."""
    rows = await _defined_rows(park, payload_type_name(payload))
    assert sorted(row["key"] for row in rows) == sorted(ids)
    ours = await _published(park, {row["_id"] for row in rows})
    assert len(ours) == len(rows), "every seeded definition reached Kafka"
    events = [(envelope, unpack_payload(envelope, payload)) for envelope in ours.values()]
    assert all(envelope.aggregate_id in ids and envelope.tenant_id == "" for envelope, _ in events)
    return events


async def test_seeding_publishes_each_sub_park_once_keyed_by_its_id(park: Park, replica: TenantsService) -> None:
    # ``replica`` started a second service on the same database: it seeds nothing new
    for envelope, event in await _seeded_once(park, events_pb2.SubParkDefined, [s.sub_park_id for s in SUB_PARKS]):
        assert envelope.aggregate_id == event.sub_park.sub_park_id
        seeded = next(s for s in SUB_PARKS if s.sub_park_id == event.sub_park.sub_park_id)
        assert event.sub_park.trade_fee_bps == seeded.trade_fee_bps and event.defined_by == ""


async def test_seeding_publishes_each_sector_once_keyed_by_its_id(park: Park, replica: TenantsService) -> None:
    for envelope, event in await _seeded_once(park, events_pb2.SectorDefined, [s.sector_id for s in SECTORS]):
        assert envelope.aggregate_id == event.sector.sector_id
        assert event.sector.name == next(s.name for s in SECTORS if s.sector_id == event.sector.sector_id)


async def test_an_admin_sets_a_trade_fee_and_it_is_published(park: Park) -> None:
    before = (await _sub_parks(park))["sp-logistics"]
    try:
        changed = await park.admin.SetTradeFee(tenants_pb2.SetTradeFeeRequest(sub_park_id="sp-logistics",
                                                                             trade_fee_bps=275))
        assert (changed.sub_park_id, changed.trade_fee_bps) == ("sp-logistics", 275)
        listed = (await park.admin.ListSubParks(tenants_pb2.ListSubParksRequest())).sub_parks
        assert next(s for s in listed if s.sub_park_id == "sp-logistics").trade_fee_bps == 275
        assert [s.sub_park_id for s in listed] == [s.sub_park_id for s in SUB_PARKS], "the seeded order stays"

        row = (await _defined_rows(park))[-1]
        envelope = (await _published(park, {row["_id"]}))[row["_id"]]
        event = unpack_payload(envelope, events_pb2.SubParkDefined)
        assert event.sub_park.trade_fee_bps == 275 and event.sub_park.name == changed.name
        assert event.defined_by == "admin:test-operator" and event.HasField("defined_at")

        for edge in (0, 10_000):  # both ends of the range are rates
            assert (await park.admin.SetTradeFee(tenants_pb2.SetTradeFeeRequest(
                sub_park_id="sp-logistics", trade_fee_bps=edge))).trade_fee_bps == edge
    finally:
        await park.admin.SetTradeFee(tenants_pb2.SetTradeFeeRequest(sub_park_id="sp-logistics", trade_fee_bps=before))


@pytest.mark.parametrize(
    ("request_fields", "code", "field"),
    [
        ({"sub_park_id": "sp-ai", "trade_fee_bps": -1}, grpc.StatusCode.INVALID_ARGUMENT, "trade_fee_bps"),
        ({"sub_park_id": "sp-ai", "trade_fee_bps": 10_001}, grpc.StatusCode.INVALID_ARGUMENT, "trade_fee_bps"),
        ({"sub_park_id": "sp-nowhere", "trade_fee_bps": 10_001}, grpc.StatusCode.INVALID_ARGUMENT, "trade_fee_bps"),
        ({"trade_fee_bps": 100}, grpc.StatusCode.INVALID_ARGUMENT, "sub_park_id"),
        ({"sub_park_id": "sp-nowhere", "trade_fee_bps": 100}, grpc.StatusCode.NOT_FOUND, None),
    ],
)
async def test_bad_trade_fees_are_refused_and_change_nothing(
    park: Park, request_fields: dict, code: grpc.StatusCode, field: str | None
) -> None:
    before = (await park.counts(), await _sub_parks(park))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await park.admin.SetTradeFee(tenants_pb2.SetTradeFeeRequest(**request_fields))
    assert caught.value.code() == code
    if field:
        assert violated_fields(caught.value) == {field}
    assert (await park.counts(), await _sub_parks(park)) == before


async def test_only_an_admin_sets_trade_fees(park: Park) -> None:
    tenant = await park.register_active()
    me = park.stub((await park.tenant_token(tenant.tenant_id)).token)
    before = await _sub_parks(park)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await me.SetTradeFee(tenants_pb2.SetTradeFeeRequest(sub_park_id="sp-ai", trade_fee_bps=1))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await park.stub(None).SetTradeFee(tenants_pb2.SetTradeFeeRequest(sub_park_id="sp-ai", trade_fee_bps=1))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert await _sub_parks(park) == before


async def test_sub_parks_and_sectors_seeded_before_publishing_existed_are_published_once(park: Park) -> None:
    # a database seeded by an earlier version: sub-parks stored, never published
    database = park.database + "_legacy"
    legacy = park.mongo[database]
    await legacy["sub_parks"].insert_many([documents.sub_park_document(s, n) for n, s in enumerate(SUB_PARKS[:3])])
    await legacy["sectors"].insert_many([documents.sector_document(s, n) for n, s in enumerate(SECTORS[:2])])
    settings = park.service.settings.model_copy(update={"grpc_port": 0, "mongo_database": database})
    try:
        for start in range(2):
            service = TenantsService(settings)
            await service.start()
            await service.stop()
            rows = await legacy["outbox"].find({"type": SUB_PARK_DEFINED}).to_list()
            assert sorted(r["key"] for r in rows) == sorted(s.sub_park_id for s in SUB_PARKS), f"after start {start}"
            rows = await legacy["outbox"].find({"type": SECTOR_DEFINED}).to_list()
            assert sorted(r["key"] for r in rows) == sorted(s.sector_id for s in SECTORS), f"after start {start}"
    finally:
        await park.mongo.drop_database(database)
