"""Records: how source events, facts, ledgers and valuations travel as bytes.

Nothing here decides anything; it only translates:

- park.trades.v1 / park.tenants.v1 envelopes -> domain inputs (``split_source_event``);
- ``Fact`` <-> TenantFact envelopes on the repartition topic;
- ``TenantLedger`` <-> TenantLedger protobuf bytes (the table's changelog values, which the
  API process follows);
- ``Valuation`` -> DataAssetValued envelopes on park.analytics.v1;
- Faust codecs for the tables (UTF-8 keys, protobuf ledgers, decimal offsets): never pickle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from faust.serializers.codecs import Codec
from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp
from park.analytics.v1 import events_pb2 as analytics_events
from park.analytics.v1 import state_pb2
from park.events.v1.envelope_pb2 import Envelope
from park.tenants.v1 import events_pb2 as tenant_events
from park.tenants.v1 import tenants_pb2
from park.trades.v1 import events_pb2 as trade_events
from parkos.events import MalformedEvent, build_envelope, payload_type_name, unpack_payload

from services.analytics.domain.facts import (
    Fact,
    FactKind,
    Placement,
    ProfileSnapshot,
    RevenueDeclaration,
    Settlement,
    fact_of_declaration,
    fact_of_profile,
    facts_of_settlement,
)
from services.analytics.domain.ledger import TenantLedger
from services.analytics.domain.revenue import Bucket
from services.analytics.domain.valuation import Valuation

PRODUCER = "analytics"
TRADE_SETTLED = payload_type_name(trade_events.TradeSettled)
ORDER_REFUNDED = payload_type_name(trade_events.OrderRefunded)
REVENUE_REPORTED = payload_type_name(tenant_events.RevenueReported)
TENANT_FACT = payload_type_name(state_pb2.TenantFact)
DATA_ASSET_VALUED = payload_type_name(analytics_events.DataAssetValued)
_TENANT_SNAPSHOTS: dict[str, type[Message]] = {
    payload_type_name(message): message
    for message in (tenant_events.TenantRegistered, tenant_events.TenantProfileUpdated, tenant_events.TenantStatusChanged)
}
_STATUS_NAMES = {
    value: name.removeprefix("TENANT_STATUS_").lower()
    for name, value in tenants_pb2.TenantStatus.items()
}
_KIND_TO_PROTO = {
    FactKind.SALE: state_pb2.FACT_KIND_SALE,
    FactKind.PURCHASE: state_pb2.FACT_KIND_PURCHASE,
    FactKind.DECLARED_REVENUE: state_pb2.FACT_KIND_DECLARED_REVENUE,
    FactKind.PROFILE: state_pb2.FACT_KIND_PROFILE,
    FactKind.CLOCK: state_pb2.FACT_KIND_CLOCK,
}
_KIND_FROM_PROTO = {value: kind for kind, value in _KIND_TO_PROTO.items()}


# --- source events -> facts -------------------------------------------------------------------


def split_source_event(envelope: Envelope) -> list[Fact]:
    """The facts of one park.trades.v1 or park.tenants.v1 event ([] for events analytics ignores).

    Raises MalformedEvent (payload) or InvalidFact (content): both go to the dead-letter topic.
    """
    splitter = _SPLITTERS.get(envelope.type)
    if splitter is not None:
        return splitter(envelope)
    if envelope.type in _TENANT_SNAPSHOTS:
        return _profile_facts(envelope)
    return []


def _settlement_facts(envelope: Envelope) -> list[Fact]:
    refund = envelope.type == ORDER_REFUNDED
    message = unpack_payload(envelope, trade_events.OrderRefunded if refund else trade_events.TradeSettled)
    stamp = message.refunded_at if refund else message.settled_at  # type: ignore[attr-defined]
    currencies = {message.gross.currency, message.fee.currency, message.net.currency}  # type: ignore[attr-defined]
    if len(currencies) != 1:
        raise MalformedEvent(f"settlement amounts in several currencies: {sorted(currencies)}")
    settlement = Settlement(
        source_event_id=envelope.event_id,
        order_id=message.order_id,  # type: ignore[attr-defined]
        buyer=_placement(message.buyer),  # type: ignore[attr-defined]
        seller=_placement(message.seller),  # type: ignore[attr-defined]
        gross=message.gross.amount_minor,  # type: ignore[attr-defined]
        fee=message.fee.amount_minor,  # type: ignore[attr-defined]
        net=message.net.amount_minor,  # type: ignore[attr-defined]
        currency=message.gross.currency,  # type: ignore[attr-defined]
        classification_level=0 if refund else message.classification_level,  # type: ignore[attr-defined]
        occurred_at_ms=_event_time_ms(stamp, envelope),
        refund=refund,
    )
    return list(facts_of_settlement(settlement))


def _revenue_facts(envelope: Envelope) -> list[Fact]:
    message: Any = unpack_payload(envelope, tenant_events.RevenueReported)
    declaration = RevenueDeclaration(
        source_event_id=envelope.event_id,
        placement=Placement(message.tenant_id, message.sub_park_id, message.sector_id),
        period=message.period, version=message.version, amount=message.revenue.amount_minor,
        currency=message.revenue.currency, occurred_at_ms=_event_time_ms(message.reported_at, envelope),
    )
    return [fact_of_declaration(declaration)]


def _profile_facts(envelope: Envelope) -> list[Fact]:
    message: Any = unpack_payload(envelope, _TENANT_SNAPSHOTS[envelope.type])
    tenant = message.tenant
    snapshot = ProfileSnapshot(
        source_event_id=envelope.event_id,
        placement=Placement(tenant.tenant_id, tenant.sub_park_id, tenant.sector_id),
        legal_name=tenant.legal_name, status=_STATUS_NAMES.get(tenant.status, ""), version=tenant.version,
        occurred_at_ms=_event_time_ms(tenant.updated_at, envelope),
    )
    return [fact_of_profile(snapshot)]


_SPLITTERS: dict[str, Callable[[Envelope], list[Fact]]] = {
    TRADE_SETTLED: _settlement_facts,
    ORDER_REFUNDED: _settlement_facts,
    REVENUE_REPORTED: _revenue_facts,
}


def _placement(message: trade_events.TenantPlacement) -> Placement:
    return Placement(message.tenant_id, message.sub_park_id, message.sector_id)


def _event_time_ms(stamp: Timestamp, envelope: Envelope) -> int:
    chosen = stamp if (stamp.seconds or stamp.nanos) else envelope.occurred_at
    return chosen.seconds * 1000 + chosen.nanos // 1_000_000


# --- facts on the repartition topic ---------------------------------------------------------------


def fact_envelope(fact: Fact, *, source_topic: str, source_partition: int, source_offset: int,
                  correlation_id: str = "") -> Envelope:
    """The envelope of a fact: event_id = fact id, keyed (aggregate) by tenant id; it carries the
    correlation id of the event it came from, for the valuation it may cause."""
    message = state_pb2.TenantFact(
        fact_id=fact.fact_id, kind=_KIND_TO_PROTO[fact.kind], tenant_id=fact.tenant_id, sign=fact.sign,
        occurred_at_ms=fact.occurred_at_ms, currency=fact.currency, gross_minor=fact.gross,
        fee_minor=fact.fee, net_minor=fact.net, counterparty_id=fact.counterparty_id,
        classification_level=fact.classification_level, sub_park_id=fact.sub_park_id,
        sector_id=fact.sector_id, legal_name=fact.legal_name, status=fact.status,
        profile_version=fact.profile_version, period=fact.period, revenue_version=fact.revenue_version,
        declared_minor=fact.declared, order_id=fact.order_id, source_event_id=fact.source_event_id,
        source_topic=source_topic, source_partition=source_partition, source_offset=source_offset,
    )
    return build_envelope(
        message, producer=PRODUCER, aggregate_id=fact.tenant_id, tenant_id=fact.tenant_id,
        event_id=fact.fact_id, occurred_at=datetime.fromtimestamp(fact.occurred_at_ms / 1000, UTC),
        correlation_id=correlation_id,
    )


def fact_from_envelope(envelope: Envelope) -> Fact:
    """The fact a repartition-topic envelope carries; MalformedEvent if it carries something else."""
    if envelope.type != TENANT_FACT:
        raise MalformedEvent(f"repartition topic carries {envelope.type!r}, not {TENANT_FACT}")
    m: Any = unpack_payload(envelope, state_pb2.TenantFact)
    if m.kind not in _KIND_FROM_PROTO or not m.tenant_id or m.fact_id != envelope.event_id:
        raise MalformedEvent("fact without kind or tenant, or whose id is not the envelope's event_id")
    return Fact(
        fact_id=m.fact_id, kind=_KIND_FROM_PROTO[m.kind], tenant_id=m.tenant_id,
        occurred_at_ms=m.occurred_at_ms, source_event_id=m.source_event_id, sign=m.sign or 1,
        currency=m.currency, gross=m.gross_minor, fee=m.fee_minor, net=m.net_minor,
        counterparty_id=m.counterparty_id, classification_level=m.classification_level,
        sub_park_id=m.sub_park_id, sector_id=m.sector_id, legal_name=m.legal_name, status=m.status,
        profile_version=m.profile_version, period=m.period, revenue_version=m.revenue_version,
        declared=m.declared_minor, order_id=m.order_id,
    )


# --- ledgers --------------------------------------------------------------------------------------


def ledger_to_proto(ledger: TenantLedger, *, valuations: bool = True) -> state_pb2.TenantLedger:
    """The ledger as protobuf; ``valuations=False`` leaves out the valuation and its history."""
    message = state_pb2.TenantLedger(
        tenant_id=ledger.tenant_id, applied_offset=ledger.applied_offset, currency=ledger.currency,
        sub_park_id=ledger.sub_park_id, sector_id=ledger.sector_id, legal_name=ledger.legal_name,
        status=ledger.status, profile_version=ledger.profile_version, watermark_ms=ledger.watermark_ms,
        compliance_level=ledger.compliance_level,
        last_source_event_id=ledger.last_source_event_id, facts_applied=ledger.facts_applied,
    )
    message.all_time.extend(ledger.all_time)
    _buckets_to_proto(ledger.hours, message.hours)
    _buckets_to_proto(ledger.days, message.days)
    for period, (version, amount) in ledger.declared.items():
        message.declared[period].version = version
        message.declared[period].amount_minor = amount
    message.buyer_ids.extend(ledger.buyers.keys())
    message.buyer_orders.extend(ledger.buyers.values())
    if valuations:
        if ledger.valuation is not None:
            message.valuation.CopyFrom(valuation_to_proto(ledger.valuation))
        message.history.extend(valuation_to_proto(v) for v in ledger.history)
    return message


def ledger_from_proto(m: state_pb2.TenantLedger, *, history: bool = True) -> TenantLedger:
    """The ledger ``m`` holds; with ``history=False`` its valuation history is left out (empty)."""
    if len(m.all_time) not in (0, len(Bucket._fields)) or len(m.buyer_ids) != len(m.buyer_orders):
        raise MalformedEvent("ledger with malformed columns")
    return TenantLedger(
        tenant_id=m.tenant_id, applied_offset=m.applied_offset, currency=m.currency,
        sub_park_id=m.sub_park_id, sector_id=m.sector_id, legal_name=m.legal_name, status=m.status,
        profile_version=m.profile_version,
        all_time=Bucket(*m.all_time) if m.all_time else Bucket(),
        hours=_buckets_from_proto(m.hours), days=_buckets_from_proto(m.days),
        declared={period: (d.version, d.amount_minor) for period, d in m.declared.items()},
        buyers=dict(zip(m.buyer_ids, m.buyer_orders, strict=True)),
        compliance_level=m.compliance_level, watermark_ms=m.watermark_ms,
        valuation=valuation_from_proto(m.valuation) if m.HasField("valuation") else None,
        history=tuple(valuation_from_proto(v) for v in m.history) if history else (),
        last_source_event_id=m.last_source_event_id, facts_applied=m.facts_applied,
    )


def ledger_to_bytes(ledger: TenantLedger) -> bytes:
    """The ledger's changelog record.

    A ledger is written after every fact, and most of its bytes are valuations that did not
    change since the previous write (the history). Each valuation is encoded once, as the
    complete protobuf field (tag, length, message), and appended to the rest of the ledger:
    protobuf allows a message's fields in any order, so the bytes parse to the same message.
    """
    head = ledger_to_proto(ledger, valuations=False).SerializeToString()
    if ledger.valuation is None and not ledger.history:
        return head
    parts = [head]
    if ledger.valuation is not None:
        parts.append(_valuation_field(_VALUATION_TAG, ledger.valuation))
    parts.extend(_valuation_field(_HISTORY_TAG, valuation) for valuation in ledger.history)
    return b"".join(parts)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field_tag(name: str) -> bytes:
    return _varint(state_pb2.TenantLedger.DESCRIPTOR.fields_by_name[name].number << 3 | 2)  # length-delimited


_VALUATION_TAG = _field_tag("valuation")
_HISTORY_TAG = _field_tag("history")


@functools.lru_cache(maxsize=1 << 16)
def _valuation_field(tag: bytes, valuation: Valuation) -> bytes:
    body = valuation_to_proto(valuation).SerializeToString()
    return tag + _varint(len(body)) + body


def ledger_from_bytes(raw: bytes, *, history: bool = True) -> TenantLedger:
    message = state_pb2.TenantLedger()
    try:
        message.ParseFromString(raw)
    except DecodeError as error:
        raise MalformedEvent(f"not a TenantLedger: {error}") from error
    if not message.tenant_id:
        raise MalformedEvent("ledger without tenant_id")
    return ledger_from_proto(message, history=history)


_WIDTH = len(Bucket._fields)


def _buckets_to_proto(buckets: dict[int, Bucket] | Any, target: state_pb2.Buckets) -> None:
    target.starts.extend(buckets.keys())
    for bucket in buckets.values():
        target.values.extend(bucket)


def _buckets_from_proto(source: state_pb2.Buckets) -> dict[int, Bucket]:
    values = list(source.values)
    if len(values) != _WIDTH * len(source.starts):
        raise MalformedEvent("bucket columns of different lengths")
    return {start: Bucket(*values[i * _WIDTH:(i + 1) * _WIDTH]) for i, start in enumerate(source.starts)}


def valuation_to_proto(v: Valuation) -> state_pb2.Valuation:
    return state_pb2.Valuation(
        valuation_minor=v.valuation, previous_minor=v.previous, trailing_net_minor=v.trailing_net,
        window_days=v.window_days, capitalization_multiple=v.capitalization_multiple,
        quality_factor_bps=v.quality_bps, distinct_buyers=v.distinct_buyers,
        compliance_level=v.compliance_level, credit_line_hint_minor=v.credit_line_hint,
        advance_rate_bps=v.advance_rate_bps, valued_at_ms=v.valued_at_ms, fact_id=v.fact_id,
        source_event_id=v.source_event_id, event_id=v.event_id, fact_offset=v.fact_offset,
    )


def valuation_from_proto(m: state_pb2.Valuation) -> Valuation:
    return Valuation(
        valuation=m.valuation_minor, previous=m.previous_minor, trailing_net=m.trailing_net_minor,
        window_days=m.window_days, capitalization_multiple=m.capitalization_multiple,
        quality_bps=m.quality_factor_bps, distinct_buyers=m.distinct_buyers,
        compliance_level=m.compliance_level, credit_line_hint=m.credit_line_hint_minor,
        advance_rate_bps=m.advance_rate_bps, valued_at_ms=m.valued_at_ms, fact_id=m.fact_id,
        source_event_id=m.source_event_id, event_id=m.event_id, fact_offset=m.fact_offset,
    )


# --- DataAssetValued ------------------------------------------------------------------------------


def valuation_envelope(ledger: TenantLedger, valuation: Valuation, correlation_id: str = "") -> Envelope:
    """The DataAssetValued envelope of a valuation: keyed by tenant, event id from the fact, and
    the correlation id of the event that caused it."""
    currency = ledger.currency or "CNY"

    def money(amount: int) -> dict[str, object]:
        return {"amount_minor": amount, "currency": currency}

    message = analytics_events.DataAssetValued(
        tenant_id=ledger.tenant_id, sub_park_id=ledger.sub_park_id, sector_id=ledger.sector_id,
        valuation=money(valuation.valuation), previous_valuation=money(valuation.previous),
        trailing_net_revenue=money(valuation.trailing_net), window_days=valuation.window_days,
        capitalization_multiple=valuation.capitalization_multiple, quality_factor_bps=valuation.quality_bps,
        distinct_buyers=valuation.distinct_buyers, compliance_level=valuation.compliance_level,
        credit_line_hint=money(valuation.credit_line_hint), advance_rate_bps=valuation.advance_rate_bps,
        source_event_id=valuation.source_event_id,
    )
    message.valued_at.FromMilliseconds(valuation.valued_at_ms)
    return build_envelope(
        message, producer=PRODUCER, aggregate_id=ledger.tenant_id, tenant_id=ledger.tenant_id,
        event_id=valuation.event_id, occurred_at=datetime.fromtimestamp(valuation.valued_at_ms / 1000, UTC),
        correlation_id=correlation_id,
    )


# --- Faust codecs (tables) ------------------------------------------------------------------------


class Utf8Codec(Codec):
    """Table keys: text <-> UTF-8 bytes."""

    def _dumps(self, obj: Any) -> bytes:
        return obj.encode() if isinstance(obj, str) else bytes(obj)

    def _loads(self, s: bytes) -> Any:
        return s.decode()


class LedgerCodec(Codec):
    """Ledger table values: ``TenantLedger`` <-> TenantLedger protobuf."""

    def _dumps(self, obj: Any) -> bytes:
        return ledger_to_bytes(obj)

    def _loads(self, s: bytes) -> Any:
        return ledger_from_bytes(s)


class OffsetCodec(Codec):
    """Fact-offset table values: an int <-> its decimal digits."""

    def _dumps(self, obj: Any) -> bytes:
        return str(int(obj)).encode()

    def _loads(self, s: bytes) -> Any:
        return int(s)
