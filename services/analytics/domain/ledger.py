"""A tenant's ledger, how a fact is applied to it, and the rule that applies each fact once.

The ledger carries its own guard (``applied_offset``, the highest repartition-topic offset
applied) in the same value as its figures: one changelog record holds both, so a crash
can never leave one updated without the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from services.analytics.domain.facts import Fact, FactKind, InvalidFact
from services.analytics.domain.revenue import ZERO, Bucket, Figures, bucket_delta
from services.analytics.domain.valuation import (
    Valuation,
    ValuationPolicy,
    valuation_event_id,
    valuation_to_republish,
    value_of,
)
from services.analytics.domain.windows import bucketed, day_start, hour_start, oldest_day, oldest_hour, pruned


@dataclass(frozen=True)
class TenantLedger:
    """Everything analytics knows about one tenant, with the guard that makes it exact."""

    tenant_id: str
    applied_offset: int = -1
    currency: str = ""
    sub_park_id: str = ""
    sector_id: str = ""
    legal_name: str = ""
    status: str = ""
    profile_version: int = 0
    all_time: Bucket = ZERO
    hours: Mapping[int, Bucket] = field(default_factory=dict)
    days: Mapping[int, Bucket] = field(default_factory=dict)
    declared: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # period -> (version, amount)
    buyers: Mapping[str, int] = field(default_factory=dict)
    # Highest classification level sold; a refund does not lower it (OrderRefunded has no level).
    compliance_level: int = 0
    watermark_ms: int = 0
    valuation: Valuation | None = None
    history: tuple[Valuation, ...] = ()
    last_source_event_id: str = ""
    facts_applied: int = 0

    @property
    def declared_total(self) -> int:
        """Declared revenue: the newest version of every month."""
        return sum(amount for _version, amount in self.declared.values())

    @property
    def distinct_buyers(self) -> int:
        """Buyers with more purchases than refunds from this tenant."""
        return sum(1 for orders in self.buyers.values() if orders > 0)

    def figures(self) -> Figures:
        """All-time figures."""
        return Figures(self.all_time, self.declared_total)

    def hour_figures(self, hour_start: int) -> Figures:
        """Trade figures of the hour starting at ``hour_start`` (declared revenue is monthly)."""
        return Figures(self.hours.get(hour_start, ZERO))

    def day_figures(self, day_start: int) -> Figures:
        """Trade figures of the day starting at ``day_start`` (declared revenue is monthly)."""
        return Figures(self.days.get(day_start, ZERO))


@dataclass(frozen=True, slots=True)
class Applied:
    """The ledger after a fact, and the valuation to publish if the fact changed it."""

    ledger: TenantLedger
    published: Valuation | None = None


def apply_fact(ledger: TenantLedger, fact: Fact, offset: int, policy: ValuationPolicy) -> Applied | None:
    """``ledger`` with ``fact`` (read at repartition-topic ``offset``) applied; None if already applied.

    Raises InvalidFact for a fact about another tenant or in another currency.
    """
    if offset <= ledger.applied_offset:
        return None
    if fact.tenant_id != ledger.tenant_id:
        raise InvalidFact(f"fact of {fact.tenant_id} applied to the ledger of {ledger.tenant_id}")
    if fact.kind is FactKind.CLOCK:
        return _clock_passed(ledger, fact, offset, policy)
    changes: dict[str, object] = {
        "applied_offset": offset,
        "watermark_ms": max(ledger.watermark_ms, fact.occurred_at_ms),
        "last_source_event_id": fact.source_event_id,
        "facts_applied": ledger.facts_applied + 1,
    }
    if fact.currency:
        if ledger.currency and fact.currency != ledger.currency:
            raise InvalidFact(f"fact in {fact.currency} for a ledger in {ledger.currency}")
        changes["currency"] = fact.currency
    if fact.kind is FactKind.PROFILE:
        if fact.profile_version >= ledger.profile_version:
            changes.update(
                sub_park_id=fact.sub_park_id, sector_id=fact.sector_id, legal_name=fact.legal_name,
                status=fact.status, profile_version=fact.profile_version,
            )
    elif ledger.profile_version == 0 and fact.sub_park_id:
        # No registry snapshot yet: take the placement the trade or report carries.
        changes.update(sub_park_id=fact.sub_park_id, sector_id=fact.sector_id)
    if fact.kind is FactKind.DECLARED_REVENUE:
        current = ledger.declared.get(fact.period)
        if current is None or fact.revenue_version > current[0]:
            declared = dict(ledger.declared)
            declared[fact.period] = (fact.revenue_version, fact.declared)
            changes["declared"] = declared
    elif fact.kind in (FactKind.SALE, FactKind.PURCHASE):
        changes.update(_with_trade(ledger, fact, changes["watermark_ms"], policy))  # type: ignore[arg-type]
    updated = replace(ledger, **changes)  # type: ignore[arg-type]
    return _revalued(updated, fact, offset, policy)


def _clock_passed(ledger: TenantLedger, fact: Fact, offset: int, policy: ValuationPolicy) -> Applied | None:
    # Only a valued tenant can be valued down, and only a clock fact that changes its value is
    # applied: one from a worker's outdated copy of the ledger, or a copy of a fact already
    # applied (its instant is then behind the watermark), changes nothing and writes nothing.
    if not revalued_by_clock(ledger, fact.occurred_at_ms, policy):
        return None
    watermark = fact.occurred_at_ms
    moved = replace(
        ledger, applied_offset=offset, watermark_ms=watermark,
        hours=pruned(ledger.hours, oldest_hour(watermark, policy.hour_retention)),
        days=pruned(ledger.days, oldest_day(watermark, policy.days_kept)),
    )
    return _revalued(moved, fact, offset, policy)


def revalued_by_clock(ledger: TenantLedger, at_ms: int, policy: ValuationPolicy) -> bool:
    """Whether a CLOCK fact at ``at_ms`` would change the tenant's published valuation."""
    if ledger.valuation is None or at_ms <= ledger.watermark_ms:
        return False
    valuation, _trailing, _quality, credit = value_of(replace(ledger, watermark_ms=at_ms), policy)
    return (valuation, credit) != (ledger.valuation.valuation, ledger.valuation.credit_line_hint)


def _with_trade(ledger: TenantLedger, fact: Fact, watermark_ms: int, policy: ValuationPolicy) -> dict[str, object]:
    delta = bucket_delta(fact)
    changes: dict[str, object] = {"all_time": ledger.all_time.plus(delta)}
    changes["hours"] = bucketed(
        ledger.hours, hour_start(fact.occurred_at_ms), delta, oldest_hour(watermark_ms, policy.hour_retention)
    )
    changes["days"] = bucketed(
        ledger.days, day_start(fact.occurred_at_ms), delta, oldest_day(watermark_ms, policy.days_kept)
    )
    if fact.kind is FactKind.SALE:
        changes["buyers"] = _counted(ledger.buyers, fact.counterparty_id, fact.sign)
        if fact.sign > 0:
            changes["compliance_level"] = max(ledger.compliance_level, fact.classification_level)
    return changes


def _counted(counts: Mapping, key: object, sign: int) -> dict:
    updated = dict(counts)
    value = updated.get(key, 0) + sign
    if value:
        updated[key] = value
    else:
        updated.pop(key, None)
    return updated


def _revalued(ledger: TenantLedger, fact: Fact, offset: int, policy: ValuationPolicy) -> Applied:
    valuation, trailing, quality, credit = value_of(ledger, policy)
    previous = ledger.valuation
    if previous is None and valuation == 0:
        return Applied(ledger)
    if previous is not None and (previous.valuation, previous.credit_line_hint) == (valuation, credit):
        return Applied(ledger)
    new = Valuation(
        valuation=valuation, previous=previous.valuation if previous else 0, trailing_net=trailing,
        window_days=policy.window_days, capitalization_multiple=policy.capitalization_multiple,
        quality_bps=quality, distinct_buyers=ledger.distinct_buyers, compliance_level=ledger.compliance_level,
        credit_line_hint=credit, advance_rate_bps=policy.advance_rate_bps, valued_at_ms=fact.occurred_at_ms,
        fact_id=fact.fact_id, source_event_id=fact.source_event_id, event_id=valuation_event_id(fact.fact_id),
        fact_offset=offset,
    )
    history = (*ledger.history, new)[-policy.history_limit:]
    return Applied(replace(ledger, valuation=new, history=history), new)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one fact read from the repartition topic at ``offset``."""

    duplicate: bool = False  # the same fact was first seen at another offset: ignore it
    ledger: TenantLedger | None = None  # the ledger to write (None: unchanged)
    publish: Valuation | None = None  # the DataAssetValued to publish (again, on a replay)
    remember_offset: bool = False  # record ``offset`` as where this fact was first seen


def decide(
    ledger: TenantLedger | None, first_offset: int | None, fact: Fact, offset: int, policy: ValuationPolicy
) -> Decision:
    """The whole de-duplication rule for a fact at ``offset`` (see tables.py).

    ``first_offset`` is where the fact id was first seen (None: never). A copy at another
    offset is a duplicate. Otherwise the ledger guard decides: an offset already applied is a
    replay after a crash (nothing to apply, but the valuation it published is published
    again); a higher one is applied. The two tables may be recovered in any combination of
    "written" and "not written" for this fact, and every combination ends in the same state.
    Raises InvalidFact for a fact that cannot be applied.
    """
    if first_offset is not None and first_offset != offset:
        return Decision(duplicate=True)
    current = ledger if ledger is not None else TenantLedger(fact.tenant_id)
    applied = apply_fact(current, fact, offset, policy)
    # a CLOCK fact needs no id memory: a copy finds the watermark at or past its instant
    remember = first_offset is None and fact.kind is not FactKind.CLOCK
    if applied is None and fact.kind is FactKind.CLOCK and offset > current.applied_offset:
        return Decision(duplicate=True)  # changes nothing: a copy, or a tick from an outdated ledger
    if applied is None:
        return Decision(publish=valuation_to_republish(current, offset), remember_offset=remember)
    return Decision(ledger=applied.ledger, publish=applied.published, remember_offset=remember)
