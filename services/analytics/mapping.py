"""Translation from the view's domain objects to park.analytics.v1 API messages (and back for enums)."""

from __future__ import annotations

from park.analytics.v1 import analytics_pb2
from park.common.v1.money_pb2 import Money

from services.analytics.domain.ledger import TenantLedger
from services.analytics.domain.ratios import Ratio
from services.analytics.domain.revenue import Bucket, Figures
from services.analytics.domain.valuation import Valuation
from services.analytics.domain.windows import day_start, hour_start
from services.analytics.store import Dimension, SliceFigures, Window

DIMENSION_FROM_PROTO = {
    analytics_pb2.DIMENSION_PARK: Dimension.PARK,
    analytics_pb2.DIMENSION_SUB_PARK: Dimension.SUB_PARK,
    analytics_pb2.DIMENSION_SECTOR: Dimension.SECTOR,
    analytics_pb2.DIMENSION_TENANT: Dimension.TENANT,
}
WINDOW_FROM_PROTO = {
    analytics_pb2.WINDOW_ALL_TIME: Window.ALL_TIME,
    analytics_pb2.WINDOW_HOUR: Window.HOUR,
    analytics_pb2.WINDOW_DAY: Window.DAY,
}


def money(amount: int, currency: str) -> Money:
    return Money(amount_minor=amount, currency=currency)


def ratio_to_proto(ratio: Ratio) -> analytics_pb2.Ratio:
    return analytics_pb2.Ratio(
        numerator=ratio.numerator, denominator=ratio.denominator, decimal=ratio.decimal, decimal_places=ratio.places
    )


def figures_to_proto(figures: Figures, currency: str) -> analytics_pb2.RevenueFigures:
    b = figures.bucket
    return analytics_pb2.RevenueFigures(
        revenue=money(figures.revenue, currency), data_sales_net=money(b.data_sales_net, currency),
        declared_revenue=money(figures.declared, currency), park_fees=money(b.park_fees, currency),
        data_sales_gross=money(b.data_sales_gross, currency), data_spend=money(b.data_spend, currency),
        data_multiplier=ratio_to_proto(figures.multiplier()), trades_sold=b.trades_sold,
        trades_bought=b.trades_bought,
    )


def slice_to_proto(
    request: analytics_pb2.GetParkRevenueRequest, found: SliceFigures, currency: str
) -> analytics_pb2.GetParkRevenueResponse:
    response = analytics_pb2.GetParkRevenueResponse(
        dimension=request.dimension, key=request.key, window=request.window or analytics_pb2.WINDOW_ALL_TIME,
        figures=figures_to_proto(found.figures, currency), tenants=found.tenants,
    )
    if found.window_start is not None and found.window_end is not None:
        response.window_start.FromSeconds(found.window_start)
        response.window_end.FromSeconds(found.window_end)
    return response


def valuation_to_proto(valuation: Valuation, currency: str) -> analytics_pb2.DataAssetValuation:
    message = analytics_pb2.DataAssetValuation(
        valuation=money(valuation.valuation, currency), trailing_net_revenue=money(valuation.trailing_net, currency),
        window_days=valuation.window_days, capitalization_multiple=valuation.capitalization_multiple,
        quality_factor_bps=valuation.quality_bps, distinct_buyers=valuation.distinct_buyers,
        compliance_level=valuation.compliance_level, credit_line_hint=money(valuation.credit_line_hint, currency),
        advance_rate_bps=valuation.advance_rate_bps, event_id=valuation.event_id,
        source_event_id=valuation.source_event_id,
    )
    message.valued_at.FromMilliseconds(valuation.valued_at_ms)
    return message


def summary_to_proto(ledger: TenantLedger, currency: str) -> analytics_pb2.TenantSummary:
    currency = ledger.currency or currency
    summary = analytics_pb2.TenantSummary(
        tenant_id=ledger.tenant_id, sub_park_id=ledger.sub_park_id, sector_id=ledger.sector_id,
        legal_name=ledger.legal_name, all_time=figures_to_proto(ledger.figures(), currency),
        distinct_buyers=ledger.distinct_buyers, last_source_event_id=ledger.last_source_event_id,
    )
    if ledger.valuation is not None:
        summary.valuation.CopyFrom(valuation_to_proto(ledger.valuation, currency))
    if ledger.watermark_ms:
        summary.updated_at.FromMilliseconds(ledger.watermark_ms)
    return summary


def metrics_to_proto(
    ledger: TenantLedger, *, now_ms: int, history_limit: int, currency: str
) -> analytics_pb2.TenantMetrics:
    currency = ledger.currency or currency
    metrics = analytics_pb2.TenantMetrics(
        tenant_id=ledger.tenant_id, sub_park_id=ledger.sub_park_id, sector_id=ledger.sector_id,
        legal_name=ledger.legal_name, all_time=figures_to_proto(ledger.figures(), currency),
        current_hour=figures_to_proto(ledger.hour_figures(hour_start(now_ms)), currency),
        current_day=figures_to_proto(ledger.day_figures(day_start(now_ms)), currency),
        distinct_buyers=ledger.distinct_buyers,
    )
    if ledger.valuation is not None:
        metrics.valuation.CopyFrom(valuation_to_proto(ledger.valuation, currency))
    metrics.valuation_history.extend(
        valuation_to_proto(v, currency) for v in list(reversed(ledger.history))[:history_limit]
    )
    for start in sorted(ledger.days, reverse=True)[:history_limit]:
        metrics.daily.append(_daily(start, ledger.days[start], currency))
    if ledger.watermark_ms:
        metrics.updated_at.FromMilliseconds(ledger.watermark_ms)
    return metrics


def _daily(start: int, bucket: Bucket, currency: str) -> analytics_pb2.DailyFigures:
    day = analytics_pb2.DailyFigures(
        data_sales_net=money(bucket.data_sales_net, currency), park_fees=money(bucket.park_fees, currency),
        data_spend=money(bucket.data_spend, currency), trades_sold=bucket.trades_sold,
        trades_bought=bucket.trades_bought,
    )
    day.day_start.FromSeconds(start)
    return day
