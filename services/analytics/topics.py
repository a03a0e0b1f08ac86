"""The analytics worker's topics: what it reads, what it writes, and how they are created."""

from __future__ import annotations

from dataclasses import dataclass

import faust
from aiokafka.partitioner import murmur2
from parkos.events.topics import ANALYTICS, DLQ, TENANTS, TRADES, TopicSpec

from services.analytics.settings import AnalyticsSettings

_WEEK_MS = str(7 * 24 * 3600 * 1000)
# Kafka deletes a record only with its whole segment, and a segment rolls after segment.ms
# (the broker's default, log.roll.hours, is 7 days) unless it fills up first.
BROKER_SEGMENT_ROLL_MS = 7 * 24 * 3600 * 1000


def facts_topic_spec(settings: AnalyticsSettings) -> TopicSpec:
    """The repartition topic: per-tenant facts keyed by tenant id (a week is plenty to replay)."""
    return TopicSpec(settings.facts_topic, settings.facts_partitions, {"retention.ms": _WEEK_MS})


def facts_partition(tenant_id: str, partitions: int) -> int:
    """The repartition-topic partition of ``tenant_id``'s facts: the producer's default partitioner
    (murmur2 of the key, as Kafka's Java client), which every fact is sent with."""
    return (murmur2(tenant_id.encode()) & 0x7FFFFFFF) % partitions


def topic_specs(settings: AnalyticsSettings) -> list[TopicSpec]:
    """Every topic the worker reads or writes, as the catalog defines it, under the configured names.

    The worker creates the missing ones at start; Faust creates the tables' changelogs itself.
    """
    renamed = (
        (TRADES, settings.trades_topic), (TENANTS, settings.tenants_topic),
        (ANALYTICS, settings.analytics_topic), (DLQ, settings.dlq_topic),
    )
    specs = [TopicSpec(name, spec.partitions, dict(spec.config), spec.replication_factor) for spec, name in renamed]
    return [*specs, facts_topic_spec(settings)]


def trades_record_lifetime_ms(settings: AnalyticsSettings) -> int:
    """How long a record of the trades topic can stay readable: its retention plus a segment's roll.

    The split agent can read a source record again as long as it is there (after a crash, or
    from the log start once the group's committed offsets expired after a week down), so a
    fact id must be remembered at least that long (fact_memory.py). The tenants topic needs
    no such bound: its facts carry versions, and applying one again changes no figure.
    The bound is the catalog's: a topic whose retention an operator raised needs
    ``PARKOS_FACT_IDS_KEPT_SECONDS`` raised with it.
    """
    config = next(spec.config for spec in topic_specs(settings) if spec.name == settings.trades_topic)
    return int(config["retention.ms"]) + int(config.get("segment.ms", BROKER_SEGMENT_ROLL_MS))


def compacted_topics(settings: AnalyticsSettings) -> set[str]:
    """The topics the worker reads whose offsets have holes once the broker compacts them."""
    return {spec.name for spec in topic_specs(settings) if "compact" in spec.config.get("cleanup.policy", "")}


@dataclass(frozen=True)
class Topics:
    """The Faust channels the agents iterate, and the names of the topics they write."""

    sources: faust.TopicT
    facts: faust.TopicT
    facts_name: str
    analytics_name: str
    dlq_name: str


def declare_topics(app: faust.App, settings: AnalyticsSettings) -> Topics:
    """Declare the channels on ``app``. Values stay raw bytes: every record is a protobuf Envelope."""
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    sources = app.topic(settings.trades_topic, settings.tenants_topic, **raw)
    facts = app.topic(settings.facts_topic, partitions=settings.facts_partitions, **raw)
    return Topics(
        sources=sources, facts=facts, facts_name=settings.facts_topic,
        analytics_name=settings.analytics_topic, dlq_name=settings.dlq_topic,
    )
