"""The analytics worker's topics: what it reads, what it writes, and how they are created."""

from __future__ import annotations

from dataclasses import dataclass

import faust
from parkos.events.topics import ANALYTICS, DLQ, TENANTS, TRADES, TopicSpec

from services.analytics.settings import AnalyticsSettings

_WEEK_MS = str(7 * 24 * 3600 * 1000)


def facts_topic_spec(settings: AnalyticsSettings) -> TopicSpec:
    """The repartition topic: per-tenant facts keyed by tenant id (a week is plenty to replay)."""
    return TopicSpec(settings.facts_topic, settings.facts_partitions, {"retention.ms": _WEEK_MS})


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
