"""Step 0, the park around the service: tenants and fee rates, as the tenants service
publishes them on park.tenants.v1, and a few approved products."""
from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer
from park.tenants.v1 import events_pb2 as tenant_events
from park.tenants.v1 import tenants_pb2
from park.trades.v1 import events_pb2, trades_pb2, trades_pb2_grpc
from parkos.events import build_envelope, envelope_headers
from parkos.ids import new_id

from bench.trades.settings import FEE_BPS


SUB_PARKS = ("sp-hq", "sp-energy", "sp-ai", "sp-manufacturing", "sp-internet", "sp-live-commerce", "sp-games",
             "sp-virtual-humans", "sp-data")


async def publish_tenants(bootstrap: str, topic: str, buyers: int, park_tenants: int) -> tuple[str, list[str]]:
    """The tenants service's part: the park's nine sub-parks and their fee rates, and ``park_tenants``
    active tenants, of which one seller and ``buyers`` buyers trade (the rest fill the directory
    as the park's other enterprises do)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = []

        async def publish(payload, key: str) -> None:  # type: ignore[no-untyped-def]
            envelope = build_envelope(payload, producer="tenants", aggregate_id=key, tenant_id=key)
            sent.append(await producer.send(topic, envelope.SerializeToString(), key=key.encode(),
                                            headers=envelope_headers(envelope)))

        for sub_park in SUB_PARKS:
            await publish(tenant_events.SubParkDefined(
                sub_park=tenants_pb2.SubPark(sub_park_id=sub_park, name=sub_park, trade_fee_bps=FEE_BPS)), sub_park)
        ids = [new_id("ten") for _ in range(park_tenants)]
        for number, tenant_id in enumerate(ids):
            tenant = tenants_pb2.Tenant(tenant_id=tenant_id, legal_name=f"Bench Enterprise {number}",
                                        sub_park_id="sp-energy" if number == 0 else SUB_PARKS[number % len(SUB_PARKS)],
                                        sector_id="sec-data-services", status=tenants_pb2.TENANT_STATUS_ACTIVE,
                                        version=2)
            await publish(tenant_events.TenantStatusChanged(tenant=tenant, to_status=tenant.status), tenant_id)
        await asyncio.gather(*sent)
        return ids[0], ids[1:buyers + 1]
    finally:
        await producer.stop()


async def wait_until_known(directory, tenants: int) -> None:  # type: ignore[no-untyped-def]
    """Until the service's directory holds ``tenants`` tenants and every sub-park's fee rate (at most 180 s)."""
    deadline = time.monotonic() + 180
    while await directory.count_documents({"kind": "tenant"}) < tenants or \
            await directory.count_documents({"kind": "fee_rate"}) < len(SUB_PARKS):
        if time.monotonic() > deadline:
            raise SystemExit("the trades service never learned the tenants")
        await asyncio.sleep(0.5)


async def approved_products(admin: trades_pb2_grpc.TradesServiceStub, seller: str, count: int) -> list[str]:
    """``count`` products of ``seller``, listed and approved by an admin; their ids."""
    products = []
    for number in range(count):
        listed = await admin.ListProduct(trades_pb2.ListProductRequest(
            seller_tenant_id=seller, title=f"Bench dataset {number}", delivery=events_pb2.DELIVERY_DATASET,
            price={"amount_minor": 1_000_00 + number, "currency": "CNY"}, classification_level=2,
            license={"duration_days": 365, "permitted_uses": [trades_pb2.PERMITTED_USE_RESEARCH]}))
        products.append((await admin.ReviewProduct(trades_pb2.ReviewProductRequest(
            product_id=listed.product_id, decision=trades_pb2.REVIEW_DECISION_APPROVE))).product_id)
    return products
