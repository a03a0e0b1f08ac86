"""The agents: thin ``async for`` loops over Faust streams that call one function per record.

- ``split``: park.trades.v1 and park.tenants.v1 -> per-tenant facts on the repartition
  topic, keyed by tenant id (``split_record``). Stateless.
- ``apply``: repartition topic -> the tenant's ledger and the fact's first offset, and
  DataAssetValued when the valuation changed (``apply_record``, deciding with
  ``domain.ledger.decide``).

Order: an agent processes a partition's records strictly in offset order from the offset the
partition was sought to (``admitted``, partition_order.py); any other record is skipped (a
record read again, fetched before the seek, or one that came before records the agent never
got, which the consumer fetches again). Commits never pass a record not processed in order.

Errors:
- a record that cannot be parsed or applied (MalformedEvent, InvalidFact, or any other
  error of the pure code: a poison record) goes to park.dlq.v1 and the stream goes on;
- an error of the infrastructure (Kafka refuses a write, the commit barrier fails) stops
  the process at once without committing (``fail_stop``). Letting the exception out of
  the agent instead would be worse: Faust acks the event in the stream's ``finally`` and
  its supervisor restarts the agent, so the offset could be committed past an event that
  was never applied. A crash is what the ledgers' guards are built for: the restarted
  worker replays from the last commit and the totals stay exact.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from park.events.v1.envelope_pb2 import Envelope
from parkos.events import MalformedEvent, envelope_headers, parse_envelope
from parkos.ids import new_correlation_id
from parkos.inbox.dead_letters import dead_letter_for
from parkos.logging import get_logger

from services.analytics.commit_barrier import UndeliveredWrite
from services.analytics.domain.facts import InvalidFact, clock_fact
from services.analytics.domain.ledger import Decision, TenantLedger, decide, revalued_by_clock
from services.analytics.partition_order import Admission
from services.analytics.domain.valuation import Valuation, ValuationPolicy
from services.analytics.records import fact_envelope, fact_from_envelope, split_source_event, valuation_envelope
from services.analytics.tables import Tables
from services.analytics.topics import Topics

log = get_logger(__name__)

INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    KafkaError, ProducerSendError, UndeliveredWrite, TimeoutError, ConnectionError,
)
FAIL_STOP_EXIT_CODE = 70


@dataclass
class Counters:
    """What the agents did since start (logged, and read by tests)."""

    split: int = 0
    facts: int = 0
    applied: int = 0
    duplicates: int = 0
    replays: int = 0
    valuations: int = 0
    dead_letters: int = 0
    not_admitted: int = 0
    forgotten: int = 0  # fact ids forgotten after PARKOS_FACT_IDS_KEPT_SECONDS
    clock_facts: int = 0  # CLOCK facts sent: tenants whose valuation the passing time changes


@dataclass
class Outputs:
    """Where the agents write, through the app's (durable) producer."""

    app: faust.App
    topics: Topics
    group_id: str
    counters: Counters = field(default_factory=Counters)

    async def send(self, topic: str, key: str, envelope: Envelope) -> None:
        await self.app.producer.send(
            topic, key.encode(), envelope.SerializeToString(), None, None, envelope_headers(envelope)
        )

    async def dead_letter(self, message: Any, error: BaseException, event_id: str = "") -> None:
        letter = dead_letter_for(message, self.group_id, error, event_id)
        await self.app.producer.send(self.topics.dlq_name, message.key, letter.SerializeToString(), None, None, None)
        self.counters.dead_letters += 1
        log.warning(
            "record dead-lettered", source_topic=message.topic, partition=message.partition,
            offset=message.offset, event_id=event_id or None, error_type=type(error).__name__, error=str(error),
        )

    async def publish_valuation(self, ledger: TenantLedger, valuation: Valuation, correlation_id: str) -> None:
        envelope = valuation_envelope(ledger, valuation, correlation_id)
        await self.send(self.topics.analytics_name, ledger.tenant_id, envelope)
        self.counters.valuations += 1


async def split_record(message: Any, outputs: Outputs) -> None:
    """One source record -> its facts on the repartition topic (or a dead letter)."""
    try:
        envelope = parse_envelope(message.value)
    except MalformedEvent as error:
        await outputs.dead_letter(message, error)
        return
    try:
        facts = split_source_event(envelope)
    except (MalformedEvent, InvalidFact) as error:
        await outputs.dead_letter(message, error, envelope.event_id)
        return
    for fact in facts:
        wrapped = fact_envelope(fact, source_topic=message.topic, source_partition=message.partition,
                                source_offset=message.offset, correlation_id=envelope.correlation_id)
        await outputs.send(outputs.topics.facts_name, fact.tenant_id, wrapped)
    outputs.counters.split += 1


CLOCK_CHECKS_PER_TURN = 500


async def send_clock_facts(tables: Tables, outputs: Outputs, policy: ValuationPolicy, at_ms: int,
                           owned: Callable[[str], bool] = lambda tenant_id: True) -> int:
    """A CLOCK fact at ``at_ms`` for every tenant ``owned`` here whose valuation the passing time
    changes; returns how many. They go through the repartition topic like any fact, so the
    tenant's partition applies them in order (a copy changes nothing: see ``ledger.decide``).
    ``owned``: whether the tenant's partition is this worker's now (the in-memory table keeps
    ledgers of partitions that have moved away, and those copies are out of date)."""
    held = [(tenant, ledger) for tenant, ledger in list(tables.ledgers.items()) if owned(tenant)]
    due: list[str] = []
    for start in range(0, len(held), CLOCK_CHECKS_PER_TURN):
        due += [tenant for tenant, ledger in held[start:start + CLOCK_CHECKS_PER_TURN]
                if revalued_by_clock(ledger, at_ms, policy)]
        await asyncio.sleep(0)  # a big park's check must not hold the agents up in one go
    correlation_id = new_correlation_id()  # the revaluations of one pass of the clock belong together
    for tenant_id in due:
        fact = clock_fact(tenant_id, at_ms)
        envelope = fact_envelope(fact, source_topic="", source_partition=0, source_offset=0,
                                 correlation_id=correlation_id)
        await outputs.send(outputs.topics.facts_name, tenant_id, envelope)
    outputs.counters.clock_facts += len(due)
    return len(due)


async def apply_record(message: Any, tables: Tables, outputs: Outputs, policy: ValuationPolicy) -> Decision | None:
    """One fact -> the tenant's ledger, its first offset, and maybe a DataAssetValued; then
    forget the partition's fact ids that have grown too old (tables.FactOffsetTable)."""
    try:
        envelope = parse_envelope(message.value)
        fact = fact_from_envelope(envelope)
    except MalformedEvent as error:
        await outputs.dead_letter(message, error)
        return None
    held = tables.ledgers.get(fact.tenant_id)
    try:
        decision = decide(held, tables.fact_offsets.get(fact.fact_id), fact, message.offset, policy)
    except InvalidFact as error:
        await outputs.dead_letter(message, error, envelope.event_id)
        return None
    _count(outputs.counters, decision)
    if decision.ledger is not None:
        await tables.ledgers.put(fact.tenant_id, decision.ledger, message.partition)
    if decision.remember_offset:
        await tables.fact_offsets.put(fact.fact_id, message.offset, message.partition)
    if decision.publish is not None:
        await outputs.publish_valuation(decision.ledger or held, decision.publish, envelope.correlation_id)
    outputs.counters.forgotten += await tables.fact_offsets.forget_expired(message.partition, message.timestamp)
    return decision


def _count(counters: Counters, decision: Decision) -> None:
    counters.facts += 1
    if decision.duplicate:
        counters.duplicates += 1
    elif decision.ledger is None:
        counters.replays += 1
    else:
        counters.applied += 1


async def guarded(step: Callable[[], Awaitable[object]], message: Any, outputs: Outputs) -> None:
    """Run one record's step: poison records to the DLQ, infrastructure failures stop the process."""
    try:
        await step()
    except INFRASTRUCTURE_ERRORS as error:
        fail_stop(error)
    except Exception as error:  # noqa: BLE001 - a bug meets a record: dead-letter it, keep going
        log.exception("record could not be processed", topic=message.topic, offset=message.offset)
        try:
            await outputs.dead_letter(message, error)
        except Exception as dlq_error:  # noqa: BLE001 - neither processed nor dead-lettered: replay it
            fail_stop(dlq_error)


def admitted(admission: Admission, counters: Counters) -> bool:
    """Whether to process the record: only its partition's next one (partition_order.py)."""
    if admission is Admission.NEXT:
        return True
    counters.not_admitted += 1
    return False


def fail_stop(error: BaseException) -> None:
    """Stop the process now, committing nothing more (see the module docstring)."""
    log.critical("infrastructure failure: stopping without commit", error=repr(error))
    sys.stderr.flush()
    os._exit(FAIL_STOP_EXIT_CODE)


class RecordOrder(Protocol):
    """Where each partition stands (commit_barrier.ProcessedOnlyConsumer keeps it)."""

    def admit(self, message: Any) -> Admission: ...

    def complete(self, message: Any) -> None: ...


def register_agents(
    app: faust.App, topics: Topics, tables: Tables, outputs: Outputs, policy: ValuationPolicy, order: RecordOrder
) -> None:
    """Attach the two agents to ``app`` (one instance each: events of a partition in order)."""
    counters = outputs.counters

    @app.agent(topics.sources, name="analytics-split", concurrency=1)
    async def split(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            if admitted(order.admit(message), counters):
                await guarded(lambda: split_record(message, outputs), message, outputs)
                order.complete(message)

    @app.agent(topics.facts, name="analytics-apply", concurrency=1)
    async def apply(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            if admitted(order.admit(message), counters):
                await guarded(lambda: apply_record(message, tables, outputs, policy), message, outputs)
                order.complete(message)
