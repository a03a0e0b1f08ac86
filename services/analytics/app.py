"""The one bootstrap of the analytics worker: a Faust app with its topics, tables and agents.

``build_worker_app(settings)`` creates nothing that connects at import or build time; the
Faust worker (worker.py) starts it. Every Faust setting that changes latency or delivery is
set here on purpose:

- ``processing_guarantee="at_least_once"``: faust-streaming's exactly_once has open bugs
  (duplicates and losses around kills and rebalances: faust-streaming issues #323, #517,
  #502, robinhood/faust #340, #658); exactness comes from the ledgers' guards instead.
- the consumer is ``commit_barrier.ProcessedOnlyConsumer`` (commits only what an agent
  finished; rewinds fresh partitions after a rebalance), the producer
  ``commit_barrier.DurableProducer`` (idempotent, acks=all, a flush that waits for every
  write); ``producer_linger`` is 1 ms: a record waits at most 1 ms to share a batch, and
  under load batches fill on their own.
- ``broker_commit_interval`` 1 s: commits cost a flush barrier, and their interval bounds how
  much is replayed after a crash (replays are harmless, only slower).
- ``stream_buffer_maxsize`` 1024: enough to keep the agents busy, small enough that a
  rebalance does not wait behind thousands of buffered events.
- ``broker_session_timeout`` 10 s (heartbeat 2 s): a killed worker's partitions move to the
  survivors within seconds rather than Faust's default 60 s.
- consumers fetch with aiokafka's long poll: the broker answers as soon as one record is
  there (fetch_min_bytes=1). A fetch waits at most ``fetch_max_wait_ms``, 100 ms: Faust's
  fixed 1.5 s stalls a busy worker (fetch_wait.py).
- ``table_standby_replicas`` 0, ``memory://`` store: tables are rebuilt from the changelogs at
  start; no standby copies compete for the two cores. ``web_enabled`` off (no port clash
  between workers on one host), no leader topic, no autodiscovery.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import faust
from parkos.logging import get_logger

from services.analytics.commit_barrier import (
    ConsumerOrder,
    ProcessedOnlyConsumer,
    durable_producer_class,
    processed_only_consumer_class,
)
from services.analytics.handlers import Counters, Outputs, register_agents, send_clock_facts
from services.analytics.heartbeat import LoopHeartbeat
from services.analytics.settings import AnalyticsSettings
from services.analytics.tables import Tables, declare_tables
from services.analytics.topics import Topics, compacted_topics, declare_topics, facts_partition

log = get_logger(__name__)


@dataclass(frozen=True)
class AnalyticsWorkerApp:
    """The Faust app and what tests and the worker entrypoint may look at."""

    app: faust.App
    topics: Topics
    tables: Tables
    counters: Counters
    heartbeat: LoopHeartbeat


def build_worker_app(settings: AnalyticsSettings) -> AnalyticsWorkerApp:
    """The analytics Faust app, configured from ``settings`` (nothing is started)."""
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        processing_guarantee="at_least_once",
        autodiscover=False,
        datadir=settings.data_dir,
        topic_partitions=settings.facts_partitions,
        topic_replication_factor=1,
        topic_disable_leader=True,
        table_standby_replicas=0,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=settings.commit_interval_seconds,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.heartbeat_interval_seconds,
        broker_max_poll_records=settings.max_poll_records,
        producer_linger=settings.producer_linger_ms / 1000.0,
        producer_acks=-1,
        stream_buffer_maxsize=settings.stream_buffer_maxsize,
        stream_wait_empty=True,
        worker_redirect_stdouts=False,
    )
    # The transport instantiates producer and consumer lazily: make them the safe ones.
    app.transport.Producer = durable_producer_class(settings.flush_timeout_seconds)
    app.transport.Consumer = processed_only_consumer_class(settings.fetch_max_wait_ms, compacted_topics(settings))
    topics = declare_topics(app, settings)
    tables = declare_tables(app, settings)
    counters = Counters()
    outputs = Outputs(app, topics, group_id=settings.app_id, counters=counters)
    register_agents(app, topics, tables, outputs, settings.valuation_policy(), ConsumerOrder(app))
    _log_assignments(app, settings, counters, tables)
    _watch_stalled_partitions(app)
    _revalue_as_time_passes(app, tables, outputs, settings)
    heartbeat = LoopHeartbeat()
    _beat_every_second(app, heartbeat)
    return AnalyticsWorkerApp(app=app, topics=topics, tables=tables, counters=counters, heartbeat=heartbeat)


def _revalue_as_time_passes(app: faust.App, tables: Tables, outputs: Outputs, settings: AnalyticsSettings) -> None:
    every = settings.revalue_every_seconds
    if every <= 0:
        return
    policy = settings.valuation_policy()

    @app.timer(float(every))
    async def revalue() -> None:
        # the instant is rounded to the period, so every worker and every run names the same facts
        at_ms = int(time.time()) // every * every * 1000
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == settings.facts_topic}
        sent = await send_clock_facts(
            tables, outputs, policy, at_ms, owned=lambda tenant: facts_partition(tenant, settings.facts_partitions) in mine
        )
        if sent:
            log.info("clock facts sent: valuations move with time", tenants=sent, at_ms=at_ms)


def _beat_every_second(app: faust.App, heartbeat: LoopHeartbeat) -> None:
    @app.timer(1.0)
    async def beat() -> None:
        heartbeat.beat()


def _log_assignments(app: faust.App, settings: AnalyticsSettings, counters: Counters, tables: Tables) -> None:
    @app.on_partitions_assigned.connect
    async def assigned(sender: faust.App, assigned: set, **kwargs: object) -> None:  # type: ignore[type-arg]
        facts = sorted(tp.partition for tp in assigned if tp.topic == settings.facts_topic)
        log.info("partitions assigned", facts_partitions=facts, assigned=len(assigned))

    @app.timer(30.0)
    async def report() -> None:
        log.info("analytics worker progress", **vars(counters), fact_ids_kept=tables.fact_offsets.first_seen.count())


def _watch_stalled_partitions(app: faust.App) -> None:
    @app.timer(1.0)
    async def fetch_stalled_again() -> None:
        # A partition's next record lost on its way to the agent, with nothing after it yet
        # to reveal the gap (partition_order.py): fetched again after a while without progress.
        consumer = app.consumer
        if isinstance(consumer, ProcessedOnlyConsumer):
            consumer.fetch_stalled_again()
