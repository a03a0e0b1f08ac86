"""The de-duplication protocol of the apply agent, under every crash hypothesis can think of.

A model of what Kafka and Faust do around the agent (``domain.ledger.decide`` is the real rule):

- the repartition log holds facts, with copies of some at later offsets (a producer's
  re-send, or the split agent re-run after a crash);
- the agent reads from the committed offset, applies ``decide`` and writes to two tables;
  each table's changelog is a sequence of records; the valuation records go to a third
  topic;
- at a commit, every record written so far is durable (the commit barrier) and the offset
  moves past everything processed;
- at a crash, each of the three topics keeps an arbitrary prefix of what was written since
  the last commit (topics are independent; within one partition Kafka keeps order), the
  tables are rebuilt from the changelogs (the ledger: the highest guard wins) and reading
  resumes at the committed offset.

Whatever the crashes, the final ledgers must equal those of a crash-free run over the
distinct facts, and every valuation the crash-free run published must have been published
(with the same event id) at least once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.domain.facts import (
    Fact,
    Placement,
    RevenueDeclaration,
    Settlement,
    fact_of_declaration,
    facts_of_settlement,
)
from services.analytics.domain.ledger import TenantLedger, decide
from services.analytics.domain.valuation import ValuationPolicy

POLICY = ValuationPolicy(window_days=30, hour_retention=4)
T0 = 1_767_225_600_000
TENANTS = [f"ten_{i}" for i in range(4)]


@st.composite
def fact_logs(draw: st.DrawFn) -> list[Fact]:
    """Facts of random settlements, refunds and revenue reports, with duplicates at later offsets."""
    facts: list[Fact] = []
    for number in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["settle", "settle", "refund", "report"]))
        at = T0 + draw(st.integers(0, 40)) * 3_600_000
        if kind == "report":
            tenant = draw(st.sampled_from(TENANTS))
            declaration = RevenueDeclaration(
                f"r{number}", Placement(tenant, "sp", "sec"), f"2025-0{draw(st.integers(1, 3))}",
                draw(st.integers(1, 3)), draw(st.integers(0, 10_000)), "CNY", at,
            )
            facts.append(fact_of_declaration(declaration))
            continue
        seller, buyer = draw(st.lists(st.sampled_from(TENANTS), min_size=2, max_size=2, unique=True))
        gross = draw(st.integers(0, 10_000))
        fee = draw(st.integers(0, gross))
        settlement = Settlement(f"e{number}", f"o{number}", Placement(buyer), Placement(seller), gross, fee,
                                gross - fee, "CNY", draw(st.integers(1, 4)), at, refund=kind == "refund")
        facts.extend(facts_of_settlement(settlement))
    log = list(facts)
    for _ in range(draw(st.integers(0, 8))):  # re-sends: a copy of an earlier fact, later in the log
        log.insert(draw(st.integers(0, len(log))), draw(st.sampled_from(facts)))
    return log


@dataclass
class Cluster:
    """Kafka as far as the agent can tell: the log, three output topics, a committed offset."""

    log: list[Fact]
    ledger_changelog: list[TenantLedger] = field(default_factory=list)
    offsets_changelog: list[tuple[str, int]] = field(default_factory=list)
    valuations: list[str] = field(default_factory=list)
    durable: tuple[int, int, int] = (0, 0, 0)  # lengths of the three topics known to be durable
    committed: int = 0

    def recover(self) -> tuple[dict[str, TenantLedger], dict[str, int]]:
        ledgers: dict[str, TenantLedger] = {}
        for ledger in self.ledger_changelog:
            held = ledgers.get(ledger.tenant_id)
            if held is None or ledger.applied_offset >= held.applied_offset:
                ledgers[ledger.tenant_id] = ledger
        return ledgers, dict(self.offsets_changelog)

    def commit(self, processed_to: int) -> None:
        self.durable = (len(self.ledger_changelog), len(self.offsets_changelog), len(self.valuations))
        self.committed = processed_to

    def crash(self, keep: tuple[int, int, int]) -> None:
        """Each topic keeps a prefix of what was written after the last commit."""
        lengths = (len(self.ledger_changelog), len(self.offsets_changelog), len(self.valuations))
        kept = [durable + min(extra, total - durable) for durable, extra, total in zip(self.durable, keep, lengths)]
        del self.ledger_changelog[kept[0]:]
        del self.offsets_changelog[kept[1]:]
        del self.valuations[kept[2]:]


def run_agent(cluster: Cluster, start: int, stop: int, ledgers: dict, offsets: dict) -> None:
    for offset in range(start, stop):
        fact = cluster.log[offset]
        decision = decide(ledgers.get(fact.tenant_id), offsets.get(fact.fact_id), fact, offset, POLICY)
        if decision.ledger is not None:
            ledgers[fact.tenant_id] = decision.ledger
            cluster.ledger_changelog.append(decision.ledger)
        if decision.remember_offset:
            offsets[fact.fact_id] = offset
            cluster.offsets_changelog.append((fact.fact_id, offset))
        if decision.publish is not None:
            cluster.valuations.append(decision.publish.event_id)


def crash_free(log: list[Fact]) -> tuple[dict[str, TenantLedger], set[str]]:
    cluster = Cluster(log)
    ledgers: dict[str, TenantLedger] = {}
    run_agent(cluster, 0, len(log), ledgers, {})
    return ledgers, set(cluster.valuations)


events = st.lists(
    st.tuples(
        st.sampled_from(["commit", "crash"]),
        st.integers(0, 60),  # how far the agent got before the event
        st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)),  # records kept per topic
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(log=fact_logs(), events=events)
def test_after_any_crashes_the_ledgers_equal_a_crash_free_run(log: list[Fact], events: list) -> None:
    expected_ledgers, expected_valuations = crash_free(log)
    cluster = Cluster(log)
    ledgers: dict[str, TenantLedger] = {}
    offsets: dict[str, int] = {}
    position = 0
    for what, progress, keep in events:
        target = min(len(log), position + progress)
        run_agent(cluster, position, target, ledgers, offsets)
        position = target
        if what == "commit":
            cluster.commit(position)
        else:
            cluster.crash(keep)
            ledgers, offsets = cluster.recover()
            position = cluster.committed
    run_agent(cluster, position, len(log), ledgers, offsets)

    assert ledgers == expected_ledgers
    assert expected_valuations <= set(cluster.valuations)


def test_a_copy_of_a_fact_at_a_later_offset_is_a_duplicate_and_the_same_offset_is_a_replay() -> None:
    sale, _ = facts_of_settlement(
        Settlement("e1", "o1", Placement("ten_b"), Placement("ten_s"), 100, 1, 99, "CNY", 1, T0)
    )
    first = decide(None, None, sale, 5, POLICY)
    assert first.ledger is not None and first.remember_offset and first.publish is not None
    copy = decide(first.ledger, 5, sale, 9, POLICY)
    assert copy.duplicate and copy.ledger is None and copy.publish is None
    # ledger recovered, offset table lost: replay, nothing applied, the valuation published again
    replay = decide(first.ledger, None, sale, 5, POLICY)
    assert replay.ledger is None and replay.remember_offset and replay.publish == first.publish
    # offset table recovered, ledger lost: applied again
    again = decide(None, 5, sale, 5, POLICY)
    assert again.ledger == first.ledger and not again.remember_offset
