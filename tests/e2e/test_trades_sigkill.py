"""No order settles twice and Kafka matches the books, across a SIGKILL of the trades service.

The real service (``python -m services.trades.main``) takes a burst of orders from
concurrent clients that retry with the same idempotency key on any failure, as a real
client must. In the middle of the burst the process is SIGKILLed (no graceful stop: calls
in flight are cut, commits may or may not have happened, the outbox relay may have
published rows it never marked sent) and started again. Afterwards:

- every key got exactly one order, whatever the retries saw;
- the store holds exactly one settlement per order, each with gross = fee + net;
- the TradeSettled events on Kafka, de-duplicated by event_id, are exactly those
  settlements: the same orders, one event each, and the same gross, fee and net sums.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
import pytest
from park.trades.v1 import events_pb2, trades_pb2, trades_pb2_grpc
from parkos.auth import Role, TokenIssuer
from parkos.grpc import open_channel
from parkos.mongo import connect_mongo

from tests.integration.trades.trades_park import TenantFeed, fresh_key, listing, payloads, read_envelopes
from tests.integration.trades.trades_process import ServiceProcess, service_env

pytestmark = pytest.mark.infra
ORDERS = 60
CLIENTS = 8
KILL_AFTER = 15  # completed orders before the SIGKILL
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED,
             grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED}


@dataclass
class Burst:
    """The clients' view: which order each key got, and how often a call had to be retried."""

    results: dict[str, list[str]] = field(default_factory=dict)  # key -> order ids returned (one per success)
    retries: Counter[str] = field(default_factory=Counter)
    completed: int = 0


@pytest.fixture
async def world(infra, signing_keys, tmp_path) -> AsyncIterator[dict]:  # type: ignore[no-untyped-def]
    private_pem, public_pem = signing_keys
    (tmp_path / "verify.pem").write_bytes(public_pem)
    database = infra.unique_name("trades_e2e")
    env = service_env(infra, database, tmp_path / "verify.pem")
    service = ServiceProcess(env, tmp_path / "trades.log")
    feed = TenantFeed(infra.kafka_bootstrap, env["PARKOS_TENANTS_TOPIC"])
    mongo = connect_mongo(infra.mongo_uri, "trades-e2e")
    await service.start()
    await feed.start()
    try:
        yield {"service": service, "feed": feed, "db": mongo[database], "env": env,
               "issuer": TokenIssuer(private_pem), "kafka": infra.kafka_bootstrap}
    finally:
        await feed.stop()
        service.stop()
        await mongo.drop_database(database)
        await mongo.close()


async def _wait(predicate, timeout: float, message: str) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, message
        await asyncio.sleep(0.1)


async def _place(stub: trades_pb2_grpc.TradesServiceStub, request: trades_pb2.PlaceOrderRequest, burst: Burst) -> None:
    """One client call, retried with the same key until it succeeds (a minute at most)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while True:
        try:
            order = await stub.PlaceOrder(request, timeout=10)
        except grpc.aio.AioRpcError as error:
            assert error.code() in RETRYABLE, f"{error.code()}: {error.details()}"
            assert loop.time() < deadline, f"{request.idempotency_key} never succeeded: {error.code()}"
            burst.retries[request.idempotency_key] += 1
            await asyncio.sleep(0.25)
            continue
        burst.results.setdefault(request.idempotency_key, []).append(order.order_id)
        burst.completed += 1
        return


async def test_no_order_settles_twice_across_a_sigkill_mid_burst(world: dict) -> None:
    service, feed, db, issuer = world["service"], world["feed"], world["db"], world["issuer"]
    for sub_park_id, bps in (("sp-energy", 250), ("sp-ai", 300)):
        await feed.define_sub_park(sub_park_id, bps)
    seller = await feed.register(sub_park_id="sp-energy")
    buyers = [await feed.register(sub_park_id="sp-ai", sector_id="sec-ai-model-services") for _ in range(4)]

    async def directory_ready() -> bool:
        return (await db.directory.count_documents({"kind": "tenant", "status": "active"}) == 5
                and await db.directory.count_documents({"kind": "fee_rate"}) == 2)

    await _wait(directory_ready, 60, "the trades service never learned the tenants")
    admin_token = issuer.issue(Role.ADMIN, "admin:e2e", ttl=timedelta(hours=1)).token
    channels = [open_channel(service.target, token=admin_token) for _ in range(2)]
    try:
        admin = trades_pb2_grpc.TradesServiceStub(channels[0])
        products = []
        for price in (12_345, 99_999_99, 1):
            listed = await admin.ListProduct(listing(seller_tenant_id=seller.tenant_id,
                                                     price={"amount_minor": price, "currency": "CNY"}))
            products.append(await admin.ReviewProduct(trades_pb2.ReviewProductRequest(
                product_id=listed.product_id, decision=trades_pb2.REVIEW_DECISION_APPROVE)))

        requests = [trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key("burst"),
                                                 buyer_tenant_id=buyers[n % len(buyers)].tenant_id,
                                                 product_id=products[n % len(products)].product_id)
                    for n in range(ORDERS)]
        burst = Burst()
        queue: asyncio.Queue[trades_pb2.PlaceOrderRequest] = asyncio.Queue()
        for request in requests:
            queue.put_nowait(request)

        async def client(number: int) -> None:
            stub = trades_pb2_grpc.TradesServiceStub(channels[number % len(channels)])
            while not queue.empty():
                await _place(stub, queue.get_nowait(), burst)

        async def killer() -> None:
            await _wait(lambda: _at_least(burst, KILL_AFTER), 120, "the burst never got going")
            service.kill()  # SIGKILL: no graceful stop, calls in flight are cut
            await service.start()

        await asyncio.wait_for(asyncio.gather(killer(), *(client(n) for n in range(CLIENTS))), timeout=240)
    finally:
        for channel in channels:
            await channel.close()

    # every key got one order, whatever the retries saw
    assert set(burst.results) == {r.idempotency_key for r in requests}
    assert all(len(set(ids)) == 1 for ids in burst.results.values())
    assert sum(burst.retries.values()) > 0, "the SIGKILL cut no call: the test proved nothing"
    order_ids = {ids[0] for ids in burst.results.values()}
    assert len(order_ids) == ORDERS

    settlements = await db.settlements.find({}).to_list()
    assert sorted(s["order_id"] for s in settlements) == sorted(order_ids), "one settlement per order"
    assert all(s["gross"]["amount_minor"] == s["fee"]["amount_minor"] + s["net"]["amount_minor"] for s in settlements)

    async def relayed() -> bool:
        return await db.outbox.count_documents({"sent": False}) == 0

    await _wait(relayed, 60, "the outbox was never drained after the restart")
    envelopes = await read_envelopes(world["kafka"], world["env"]["PARKOS_TRADES_TOPIC"], keys=order_ids,
                                     expect=2 * ORDERS, timeout=60)
    unique = {e.event_id: e for e in envelopes}  # a re-sent row carries the same event_id
    settled = payloads(unique.values(), events_pb2.TradeSettled)
    assert sorted(e.order_id for e in settled) == sorted(order_ids), "exactly one TradeSettled per order"
    for key in ("gross", "fee", "net"):
        assert sum(getattr(e, key).amount_minor for e in settled) == sum(s[key]["amount_minor"] for s in settlements)


async def _at_least(burst: Burst, count: int) -> bool:
    return burst.completed >= count
