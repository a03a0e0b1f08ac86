"""The analytics service end to end: a real worker process, the API over real gRPC, real Kafka.

One worker and one API for the module (their topics are the module's own); each test uses
tenants of its own, so tests do not see each other's figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from park.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from park.analytics.v1 import events_pb2 as analytics_events
from park.events.v1.dead_letter_pb2 import DeadLetter
from parkos.auth import Role, TokenIssuer
from parkos.events import parse_envelope, unpack_payload
from parkos.events.provisioning import ensure_topics
from parkos.grpc import field_violations, open_channel

from services.analytics.main import AnalyticsService
from services.analytics.settings import AnalyticsSettings
from services.analytics.topics import topic_specs
from tests.integration.analytics.analytics_park import (
    Publisher,
    Record,
    Scenario,
    WorkerProcess,
    make_tenants,
    wait_for,
    worker_settings,
)
from tests.support.kafka import read_topic

pytestmark = [pytest.mark.infra, pytest.mark.timeout(120)]

D = analytics_pb2


@dataclass
class Running:
    settings: AnalyticsSettings
    service: AnalyticsService
    worker: WorkerProcess
    publisher: Publisher
    issuer: TokenIssuer
    admin: object
    channels: list = field(default_factory=list)

    def stub(self, token: str | None) -> analytics_pb2_grpc.AnalyticsServiceStub:
        # the stub keeps no reference to its channel: keep one, or the channel closes when collected
        channel = open_channel(f"127.0.0.1:{self.service.port}", token=token)
        self.channels.append(channel)
        return analytics_pb2_grpc.AnalyticsServiceStub(channel)

    def tenant_token(self, tenant_id: str) -> str:
        return self.issuer.issue(Role.TENANT, f"app:{tenant_id}", tenant_id=tenant_id, ttl=timedelta(hours=1)).token

    def scenario(self, tenants: int = 4, seed: int = 1) -> Scenario:
        rng = random.Random(seed)
        return Scenario(self.settings, make_tenants(tenants, rng), rng)

    async def publish(self, *records: Record) -> None:
        await self.publisher.publish(records)

    async def settled(self, scenario: Scenario, timeout: float = 30) -> None:
        """Until every tenant of the scenario shows the scenario's expected figures."""
        from tests.integration.analytics.analytics_park import mismatches

        await wait_for(lambda: not mismatches(self.service.view, scenario.expected, scenario.tenants), timeout,
                       lambda: f"{mismatches(self.service.view, scenario.expected, scenario.tenants)}\n"
                               f"{self.worker.log_tail()}")


@pytest.fixture(scope="module")
async def running(infra, signing_keys, tmp_path_factory) -> AsyncIterator[Running]:  # type: ignore[no-untyped-def]
    private_pem, public_pem = signing_keys
    settings = worker_settings(infra)
    await ensure_topics(infra.kafka_bootstrap, topic_specs(settings))
    service = AnalyticsService(settings, public_key_pem=public_pem)
    await service.start()
    await service.wait_ready(30)
    worker = WorkerProcess(settings, infra.root).start()
    await worker.wait_assigned()
    issuer = TokenIssuer(private_pem)
    admin_token = issuer.issue(Role.ADMIN, "admin:analytics-tests", ttl=timedelta(hours=1)).token
    async with Publisher(infra.kafka_bootstrap) as publisher:
        running = Running(settings, service, worker, publisher, issuer, None)
        running.admin = running.stub(admin_token)
        try:
            yield running
        finally:
            for channel in running.channels:
                await channel.close()
            await asyncio.to_thread(worker.stop)
            await service.stop()


async def test_settlements_and_refunds_reach_every_dimension(running: Running) -> None:
    scenario = running.scenario(seed=11)
    seller, buyer = scenario.tenants[0], scenario.tenants[1]
    await running.publish(
        scenario.trade(seller, buyer, 100_000), scenario.trade(seller, buyer, 50_000), scenario.refund()
    )
    await running.settled(scenario)
    admin = running.admin
    tenant = await admin.GetParkRevenue(D.GetParkRevenueRequest(dimension=D.DIMENSION_TENANT, key=seller.tenant_id))
    expected_net = scenario.expected.net[seller.tenant_id]
    assert tenant.figures.data_sales_net.amount_minor == expected_net
    assert tenant.figures.trades_sold == 1  # two settled, one refunded
    assert tenant.figures.data_sales_gross.amount_minor == expected_net + tenant.figures.park_fees.amount_minor
    sub_park = await admin.GetParkRevenue(
        D.GetParkRevenueRequest(dimension=D.DIMENSION_SUB_PARK, key=seller.sub_park_id, window=D.WINDOW_DAY)
    )
    assert sub_park.figures.data_sales_net.amount_minor >= expected_net and sub_park.window_end.seconds
    hour = await admin.GetParkRevenue(
        D.GetParkRevenueRequest(dimension=D.DIMENSION_TENANT, key=seller.tenant_id, window=D.WINDOW_HOUR)
    )
    assert hour.figures.data_sales_net.amount_minor == expected_net
    assert hour.window_end.seconds - hour.window_start.seconds == 3600
    long_ago = D.GetParkRevenueRequest(dimension=D.DIMENSION_TENANT, key=seller.tenant_id, window=D.WINDOW_HOUR)
    long_ago.at.FromDatetime(datetime.now(UTC) - timedelta(hours=5))  # kept, and nothing sold then
    assert (await admin.GetParkRevenue(long_ago)).figures.data_sales_net.amount_minor == 0
    park = await admin.GetParkRevenue(D.GetParkRevenueRequest(dimension=D.DIMENSION_PARK))
    assert park.tenants >= 2 and park.figures.data_sales_net.amount_minor >= expected_net
    metrics = await admin.GetTenantMetrics(D.GetTenantMetricsRequest(tenant_id=buyer.tenant_id))
    assert metrics.all_time.data_spend.amount_minor == scenario.expected.spend[buyer.tenant_id]
    assert metrics.all_time.trades_bought == 1


async def test_a_malformed_record_goes_to_the_dlq_and_the_next_one_is_applied(running: Running) -> None:
    scenario = running.scenario(seed=12)
    garbage = scenario.garbage()
    good = scenario.trade(scenario.tenants[0], scenario.tenants[1], 10_000)
    await running.publish(garbage, good)
    await running.settled(scenario)
    letters = await read_topic(running.settings.kafka_bootstrap, running.settings.dlq_topic, expect=1, timeout=15)
    mine = [DeadLetter.FromString(r.value) for r in letters if r.key == garbage.key.encode()]
    assert mine and mine[0].value == garbage.value and mine[0].error_type == "MalformedEvent"
    assert mine[0].source_topic == running.settings.trades_topic


async def test_a_revenue_correction_replaces_the_previous_version(running: Running) -> None:
    scenario = running.scenario(seed=13)
    tenant = scenario.tenants[0]
    await running.publish(
        scenario.revenue_report(tenant, "2025-01", 1, 1_000_000),
        scenario.revenue_report(tenant, "2025-02", 1, 400_000),
        scenario.revenue_report(tenant, "2025-01", 2, 1_250_000),
        scenario.revenue_report(tenant, "2025-01", 1, 1),  # a late copy of an old version
    )
    await running.settled(scenario)
    figures = (await running.admin.GetParkRevenue(
        D.GetParkRevenueRequest(dimension=D.DIMENSION_TENANT, key=tenant.tenant_id))).figures
    assert figures.declared_revenue.amount_minor == 1_650_000
    assert figures.revenue.amount_minor == 1_650_000


async def test_the_multiplier_and_a_valuation_published_on_change(running: Running) -> None:
    scenario = running.scenario(seed=14, tenants=5)
    seller, *buyers = scenario.tenants
    await running.publish(
        *(scenario.trade(seller, b, 1_000_000) for b in buyers),
        scenario.trade(buyers[0], seller, 500_000),  # the seller spends on data too
    )
    await running.settled(scenario)
    metrics = await running.admin.GetTenantMetrics(D.GetTenantMetricsRequest(tenant_id=seller.tenant_id))
    revenue, spend = metrics.all_time.revenue.amount_minor, metrics.all_time.data_spend.amount_minor
    assert (metrics.all_time.data_multiplier.numerator, metrics.all_time.data_multiplier.denominator) == (revenue, spend)
    assert metrics.all_time.data_multiplier.decimal == f"{revenue / spend:.2f}"  # (test only: float to compare)
    assert metrics.distinct_buyers == 4 and metrics.valuation.valuation.amount_minor > 0
    assert [v.event_id for v in metrics.valuation_history][0] == metrics.valuation.event_id
    records = await read_topic(running.settings.kafka_bootstrap, running.settings.analytics_topic, expect=4, timeout=15)
    mine = [parse_envelope(r.value) for r in records if r.key == seller.tenant_id.encode()]
    values = [unpack_payload(e, analytics_events.DataAssetValued).valuation.amount_minor for e in mine]
    assert values[-1] == metrics.valuation.valuation.amount_minor
    assert mine[-1].event_id == metrics.valuation.event_id
    assert len(mine) == len(metrics.valuation_history)
    # each valuation carries the correlation id of the settlement that caused it, envelope and header
    calls = {settled.correlation_id for settled, *_ in scenario.settled}
    assert {e.correlation_id for e in mine} <= calls and all(e.correlation_id for e in mine)
    headers = [dict(r.headers) for r in records if r.key == seller.tenant_id.encode()]
    assert [h["correlation_id"].decode() for h in headers] == [e.correlation_id for e in mine]


async def test_a_tenant_that_stops_selling_is_valued_down_when_its_window_has_passed(running: Running) -> None:
    """What the worker's revaluation timer sends: a CLOCK fact on the repartition topic."""
    from services.analytics.domain.facts import clock_fact
    from services.analytics.records import fact_envelope

    scenario = running.scenario(seed=16, tenants=3)
    seller, *buyers = scenario.tenants
    await running.publish(*(scenario.trade(seller, b, 2_000_000) for b in buyers))
    await running.settled(scenario)
    request = D.GetTenantMetricsRequest(tenant_id=seller.tenant_id)
    valued = (await running.admin.GetTenantMetrics(request)).valuation
    assert valued.valuation.amount_minor > 0
    later_ms = int((datetime.now(UTC) + timedelta(days=120)).timestamp()) * 1000  # past the 90-day window
    tick = fact_envelope(clock_fact(seller.tenant_id, later_ms), source_topic="", source_partition=0, source_offset=0)
    await running.publish(Record(running.settings.facts_topic, seller.tenant_id, tick))

    async def valued_down() -> bool:
        return (await running.admin.GetTenantMetrics(request)).valuation.valuation.amount_minor == 0

    deadline = asyncio.get_running_loop().time() + 30
    while not await valued_down():
        assert asyncio.get_running_loop().time() < deadline, "the tenant was never valued down"
        await asyncio.sleep(0.2)
    metrics = await running.admin.GetTenantMetrics(request)
    assert metrics.valuation.valued_at.seconds == later_ms // 1000
    assert metrics.all_time.data_sales_net.amount_minor == scenario.expected.net[seller.tenant_id]  # all-time stays
    records = await read_topic(running.settings.kafka_bootstrap, running.settings.analytics_topic, expect=1, timeout=15)
    mine = [unpack_payload(parse_envelope(r.value), analytics_events.DataAssetValued)
            for r in records if r.key == seller.tenant_id.encode()]
    assert mine[-1].valuation.amount_minor == 0 and mine[-1].credit_line_hint.amount_minor == 0
    assert mine[-1].previous_valuation.amount_minor == valued.valuation.amount_minor


async def test_a_tenant_sees_only_itself_admins_everything_banks_nothing(running: Running) -> None:
    scenario = running.scenario(seed=15)
    me, other = scenario.tenants[0], scenario.tenants[1]
    await running.publish(scenario.trade(me, other, 10_000))
    await running.settled(scenario)
    mine = running.stub(running.tenant_token(me.tenant_id))
    assert (await mine.GetTenantMetrics(D.GetTenantMetricsRequest(tenant_id=me.tenant_id))).tenant_id == me.tenant_id
    own = D.GetParkRevenueRequest(dimension=D.DIMENSION_TENANT, key=me.tenant_id)
    assert (await mine.GetParkRevenue(own)).figures.trades_sold == 1
    bank = running.stub(running.issuer.issue(Role.BANK, "bank:icbc", bank_id="icbc", ttl=timedelta(hours=1)).token)
    refused = [
        mine.GetTenantMetrics(D.GetTenantMetricsRequest(tenant_id=other.tenant_id)),
        mine.GetParkRevenue(D.GetParkRevenueRequest(dimension=D.DIMENSION_TENANT, key=other.tenant_id)),
        mine.GetParkRevenue(D.GetParkRevenueRequest(dimension=D.DIMENSION_PARK)),
        mine.GetParkRevenue(D.GetParkRevenueRequest(dimension=D.DIMENSION_SUB_PARK, key=me.sub_park_id)),
        bank.GetTenantMetrics(D.GetTenantMetricsRequest(tenant_id=me.tenant_id)),
    ]
    for call in refused:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # a refusal does not depend on whether the other tenant exists
    unknown = make_tenants(1, random.Random(99))[0]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await mine.GetTenantMetrics(D.GetTenantMetricsRequest(tenant_id=unknown.tenant_id))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await running.stub(None).GetParkRevenue(D.GetParkRevenueRequest(dimension=D.DIMENSION_PARK))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    stream = mine.StreamParkMetrics(D.StreamParkMetricsRequest())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stream.read()
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        (D.GetParkRevenueRequest(), {"dimension"}),
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_PARK, key="x"), {"key"}),
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_SUB_PARK), {"key"}),
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_SECTOR, key="Not A Slug!"), {"key"}),
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_TENANT, key="ten_nope"), {"key"}),
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_PARK, window=7), {"window"}),
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_PARK, at=Timestamp(seconds=10**12)), {"at"}),
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_PARK, window=D.WINDOW_ALL_TIME,
                                 at=Timestamp(seconds=int(datetime.now(UTC).timestamp()))), {"at"}),
        # older hour/day buckets are pruned tenant by tenant: a partial sum is refused, not returned
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_PARK, window=D.WINDOW_HOUR,
                                 at=Timestamp(seconds=int(datetime.now(UTC).timestamp()) - 3 * 86_400)), {"at"}),
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_PARK, window=D.WINDOW_DAY,
                                 at=Timestamp(seconds=int(datetime.now(UTC).timestamp()) - 400 * 86_400)), {"at"}),
        # a window not begun has no figures: zeros would pass for a quiet hour
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_PARK, window=D.WINDOW_HOUR,
                                 at=Timestamp(seconds=int(datetime.now(UTC).timestamp()) + 3_600)), {"at"}),
        (D.GetParkRevenueRequest(dimension=D.DIMENSION_TENANT, key="ten_01M81X8E8DEV58NB7P69G7PAGR",
                                 window=D.WINDOW_DAY,
                                 at=Timestamp(seconds=int(datetime.now(UTC).timestamp()) + 86_400)), {"at"}),
        (D.GetTenantMetricsRequest(), {"tenant_id"}),
        (D.GetTenantMetricsRequest(tenant_id="ten_01M81X8E8DEV58NB7P69G7PAGR", history_limit=-1), {"history_limit"}),
    ],
)
async def test_bad_requests_are_invalid_argument_naming_the_field(running: Running, request_, fields) -> None:  # type: ignore[no-untyped-def]
    call = running.admin.GetParkRevenue if isinstance(request_, D.GetParkRevenueRequest) else running.admin.GetTenantMetrics
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request_)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {name for name, _ in field_violations(caught.value)} == fields


async def test_unknown_slices_are_not_found(running: Running) -> None:
    for request in (
        D.GetParkRevenueRequest(dimension=D.DIMENSION_SECTOR, key="sec-nobody-here"),
        D.GetParkRevenueRequest(dimension=D.DIMENSION_TENANT, key=make_tenants(1, random.Random(5))[0].tenant_id),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await running.admin.GetParkRevenue(request)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_stream_park_metrics_pushes_a_snapshot_then_each_change(running: Running) -> None:
    scenario = running.scenario(seed=16)
    me, other = scenario.tenants[0], scenario.tenants[1]
    await running.publish(scenario.trade(me, other, 10_000))
    await running.settled(scenario)
    mine = running.stub(running.tenant_token(me.tenant_id))
    stream = mine.StreamParkMetrics(D.StreamParkMetricsRequest(tenant_ids=[me.tenant_id]))
    first = await asyncio.wait_for(stream.read(), 10)
    assert first.snapshot and first.tenant.tenant_id == me.tenant_id and first.tenant.all_time.trades_sold == 1
    assert not first.HasField("park")
    await running.publish(scenario.trade(me, other, 20_000))
    update = await asyncio.wait_for(stream.read(), 20)
    while update.tenant.all_time.trades_sold < 2:
        update = await asyncio.wait_for(stream.read(), 20)
    assert not update.snapshot and update.tenant.all_time.data_sales_net.amount_minor == scenario.expected.net[me.tenant_id]
    stream.cancel()
    watch = running.admin.StreamParkMetrics(D.StreamParkMetricsRequest(include_park=True))
    update = await asyncio.wait_for(watch.read(), 10)
    assert update.HasField("park") and update.park.trades_sold >= 2
    watch.cancel()


async def test_a_stream_ends_when_its_token_is_revoked(running: Running) -> None:
    scenario = running.scenario(seed=18)
    me, other = scenario.tenants[0], scenario.tenants[1]
    await running.publish(scenario.trade(me, other, 10_000))
    await running.settled(scenario)
    issued = running.issuer.issue(Role.TENANT, f"app:{me.tenant_id}", tenant_id=me.tenant_id, ttl=timedelta(hours=1))
    stream = running.stub(issued.token).StreamParkMetrics(D.StreamParkMetricsRequest(tenant_ids=[me.tenant_id]))
    assert (await asyncio.wait_for(stream.read(), 10)).snapshot
    running.service.revocations.revoke(issued.token_id)  # what the revocation feed does on CredentialRevoked
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(stream.read(), 10)  # no change is pending: the stream ends on its own
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED and "revoked" in caught.value.details()


async def test_health_is_serving_once_the_view_caught_up(running: Running) -> None:
    channel = open_channel(f"127.0.0.1:{running.service.port}")
    health = health_pb2_grpc.HealthStub(channel)
    response = await health.Check(health_pb2.HealthCheckRequest(service="park.analytics.v1.AnalyticsService"))
    assert response.status == health_pb2.HealthCheckResponse.SERVING
    await channel.close()


async def test_a_second_api_replica_rebuilds_the_same_view_from_the_changelog(running: Running, signing_keys) -> None:  # type: ignore[no-untyped-def]
    scenario = running.scenario(seed=17)
    await running.publish(*(scenario.trade() for _ in range(20)))
    await running.settled(scenario)
    replica = AnalyticsService(running.settings.model_copy(update={"grpc_port": 0}), public_key_pem=signing_keys[1])
    await replica.start()
    try:
        await replica.wait_ready(30)
        for tenant in scenario.tenants:
            assert replica.view.ledger(tenant.tenant_id) == running.service.view.ledger(tenant.tenant_id)
        assert replica.view.park_figures() == running.service.view.park_figures()
    finally:
        await replica.stop()



async def _parkctl(token: str, *args: str) -> str:
    """parkctl's standard output; it must succeed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "parkctl.cli", "--token", token, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_parkctl_shows_a_tenant_and_the_live_view(running: Running) -> None:
    scenario = running.scenario(seed=18)
    me, other = scenario.tenants[0], scenario.tenants[1]
    await running.publish(scenario.trade(me, other, 70_000))
    await running.settled(scenario)
    token = running.issuer.issue(Role.ADMIN, "admin:parkctl", ttl=timedelta(minutes=5)).token
    target = f"127.0.0.1:{running.service.port}"

    shown = json.loads(await _parkctl(token, "--json", "analytics", "--target", target, "tenant", me.tenant_id))
    assert shown["tenant_id"] == me.tenant_id
    assert int(shown["all_time"]["data_sales_net"]["amount_minor"]) == scenario.expected.net[me.tenant_id]
    board = await _parkctl(token, "analytics", "--target", target, "watch", "--seconds", "2")
    assert "Revenue by sub-park" in board and me.sub_park_id in board


async def test_parkctl_watch_with_a_tenant_token_streams_that_tenant_as_json_lines(running: Running) -> None:
    scenario = running.scenario(seed=19)
    me, other = scenario.tenants[0], scenario.tenants[1]
    await running.publish(scenario.trade(me, other, 40_000))
    await running.settled(scenario)
    target = f"127.0.0.1:{running.service.port}"
    token = running.tenant_token(me.tenant_id)

    lines = await _parkctl(token, "--json", "analytics", "--target", target, "watch", "--seconds", "2")
    updates = [json.loads(line) for line in lines.splitlines()]
    assert updates and {update["tenant"]["tenant_id"] for update in updates} == {me.tenant_id}
    latest = updates[-1]["tenant"]["all_time"]
    assert int(latest["data_sales_net"]["amount_minor"]) == scenario.expected.net[me.tenant_id]
    board = await _parkctl(token, "analytics", "--target", target, "watch", "--seconds", "2")
    assert "Revenue by sub-park" in board and me.tenant_id in board and other.tenant_id not in board
