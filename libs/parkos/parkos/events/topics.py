"""The topic catalog: every Kafka topic of Park OS with its partitions and configs."""
from __future__ import annotations

from dataclasses import dataclass, field

_WEEK_MS = str(7 * 24 * 3600 * 1000)
_MONTH_MS = str(30 * 24 * 3600 * 1000)


@dataclass(frozen=True)
class TopicSpec:
    """A topic as the services create it at start: name, partition count, broker configs."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    replication_factor: int = 1


# Keyed by tenant id and compacted: the latest fact about each tenant is kept forever,
# so a new consumer (e.g. a fresh trades read model) can rebuild from the topic.
TENANTS = TopicSpec("park.tenants.v1", 6, {"cleanup.policy": "compact", "min.compaction.lag.ms": _WEEK_MS})
TRADES = TopicSpec("park.trades.v1", 12, {"retention.ms": _MONTH_MS})
COMPUTE = TopicSpec("park.compute.v1", 6, {"retention.ms": _MONTH_MS})
COMPUTE_USAGE = TopicSpec("park.compute.usage.v1", 12, {"retention.ms": _WEEK_MS})
CREDIT = TopicSpec("park.credit.v1", 6, {"retention.ms": _MONTH_MS})
ANALYTICS = TopicSpec("park.analytics.v1", 6, {"retention.ms": _MONTH_MS})
DLQ = TopicSpec("park.dlq.v1", 3, {"retention.ms": _MONTH_MS})

ALL_TOPICS: tuple[TopicSpec, ...] = (TENANTS, TRADES, COMPUTE, COMPUTE_USAGE, CREDIT, ANALYTICS, DLQ)


def with_replication(spec: TopicSpec, replication_factor: int) -> TopicSpec:
    """The same topic for a cluster with more brokers (production sets 3)."""
    return TopicSpec(spec.name, spec.partitions, dict(spec.config), replication_factor)
