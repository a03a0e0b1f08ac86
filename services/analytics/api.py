"""The park.analytics.v1.AnalyticsService servicer: reads of the ledger view, no writes.

Each call checks the request's form, authorizes the caller (admins: everything; a tenant:
only itself, refused before anything is looked up so a refusal never tells whether another
tenant exists; other roles: nothing), reads the view and translates.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet
from park.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from parkos.auth import Principal, Role, require_admin, require_role, require_tenant_access, scopes
from parkos.clock import Clock, park_clock
from parkos.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from parkos.grpc import current_principal
from parkos.ids import is_valid_id
from parkos.timestamps import requested_time

from services.analytics import mapping
from services.analytics.domain.windows import day_kept, day_start, has_begun, hour_kept, hour_start
from services.analytics.store import Dimension, ParkView, Subscription, Window

SERVICE_NAME = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name
# The scope a scoped token needs for each call (parkos.auth.scopes); roles are checked as well.
METHOD_SCOPES = dict.fromkeys(("GetParkRevenue", "GetTenantMetrics", "StreamParkMetrics"), scopes.ANALYTICS_READ)
TENANT_ID_PREFIX = "ten"
HISTORY_DEFAULT, HISTORY_MAX = 30, 1000
STREAM_TENANTS_MAX = 1000
_SLUG = re.compile(r"[a-z0-9][a-z0-9\-]{0,63}")

def add_to_server(servicer: AnalyticsServicer, server: Any) -> None:
    analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(servicer, server)


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    """gRPC entry point of the analytics service."""

    def __init__(self, view: ParkView, *, lapse_of: Callable[[Principal], str | None], currency: str = "CNY",
                 clock: Clock = park_clock, hours_kept: int = 48, days_kept: int = 90,
                 token_check_seconds: float = 1.0) -> None:
        self._view = view
        # why a caller's token no longer holds (TokenVerifier.lapse_of): streams outlive their check
        self._lapse_of, self._token_check_seconds = lapse_of, token_check_seconds
        self._currency = currency
        self._clock = clock
        self._hours_kept, self._days_kept = hours_kept, days_kept  # the worker's bucket retention

    async def GetParkRevenue(
        self, request: analytics_pb2.GetParkRevenueRequest, context: Any
    ) -> analytics_pb2.GetParkRevenueResponse:
        """Revenue figures of the park, a sub-park, a sector or a tenant, all-time or in an hour/day."""
        _refuse_unknown_fields(request)
        dimension = mapping.DIMENSION_FROM_PROTO.get(request.dimension)
        window = mapping.WINDOW_FROM_PROTO.get(request.window or analytics_pb2.WINDOW_ALL_TIME)
        violations = [
            *([] if dimension else [FieldViolation("dimension", "must be park, sub_park, sector or tenant")]),
            *([] if window else [FieldViolation("window", "must be all_time, hour or day")]),
            *_key_violations(dimension, request.key),
            # all-time figures have no instant: a caller sending one expects figures it would not get
            *([FieldViolation("at", "only for the hour and day windows")]
              if window is Window.ALL_TIME and request.HasField("at") else []),
        ]
        if violations:
            raise InvalidArgument("bad GetParkRevenue request", violations)
        assert dimension is not None and window is not None
        principal = current_principal()
        if dimension is Dimension.TENANT:
            _may_read_tenant(principal, request.key)
        else:
            require_admin(principal)
        now = self._clock()
        at = requested_time(request, "at") or now
        at_ms = int(at.timestamp() * 1000)
        self._refuse_window_not_kept(window, at_ms, int(now.timestamp() * 1000))
        found = self._view.figures(dimension, request.key, window, at_ms)
        if found is None:
            raise NotFound(_nothing_known(dimension))
        return mapping.slice_to_proto(request, found, self._currency)

    def _refuse_window_not_kept(self, window: Window, at_ms: int, now_ms: int) -> None:
        # A window not begun has no figures yet, and zeros would pass for a quiet hour; asking for
        # one is a caller's mistake (a local time sent as UTC, say). Older buckets are pruned
        # tenant by tenant: a sum over them would be partial, not zero.
        if window is not Window.ALL_TIME:
            start = hour_start(at_ms) if window is Window.HOUR else day_start(at_ms)
            if not has_begun(start, now_ms):
                raise InvalidArgument.for_field("at", f"the {window.value} of `at` has not begun (UTC)")
        if window is Window.HOUR and not hour_kept(at_ms, now_ms, self._hours_kept):
            raise InvalidArgument.for_field("at", f"hour figures are kept for the last {self._hours_kept} hours")
        if window is Window.DAY and not day_kept(at_ms, now_ms, self._days_kept):
            raise InvalidArgument.for_field("at", f"day figures are kept for the last {self._days_kept} days")

    async def GetTenantMetrics(
        self, request: analytics_pb2.GetTenantMetricsRequest, context: Any
    ) -> analytics_pb2.TenantMetrics:
        """A tenant's figures, valuation and their history (admins: any tenant, a tenant: itself)."""
        _refuse_unknown_fields(request)
        violations = _tenant_violations("tenant_id", request.tenant_id)
        if not 0 <= request.history_limit <= HISTORY_MAX:
            violations.append(FieldViolation("history_limit", f"must be within 0..{HISTORY_MAX}"))
        if violations:
            raise InvalidArgument("bad GetTenantMetrics request", violations)
        _may_read_tenant(current_principal(), request.tenant_id)
        ledger = self._view.ledger(request.tenant_id)
        if ledger is None:
            raise NotFound("no figures for this tenant yet")
        now_ms = int(self._clock().timestamp() * 1000)
        return mapping.metrics_to_proto(
            ledger, now_ms=now_ms, history_limit=request.history_limit or HISTORY_DEFAULT, currency=self._currency
        )

    async def StreamParkMetrics(
        self, request: analytics_pb2.StreamParkMetricsRequest, context: Any
    ) -> AsyncIterator[analytics_pb2.ParkMetricsUpdate]:
        """A snapshot of the selected tenants, then every change as it is applied."""
        _refuse_unknown_fields(request)
        wanted = list(dict.fromkeys(request.tenant_ids))
        violations = [v for i, tenant_id in enumerate(wanted) for v in _tenant_violations(f"tenant_ids[{i}]", tenant_id)]
        if len(wanted) > STREAM_TENANTS_MAX:
            violations.append(FieldViolation("tenant_ids", f"at most {STREAM_TENANTS_MAX} tenants"))
        if violations:
            raise InvalidArgument("bad StreamParkMetrics request", violations)
        principal = current_principal()
        require_role(principal, Role.ADMIN, Role.TENANT)
        if principal.role is not Role.ADMIN:
            if not wanted or request.include_park:
                raise PermissionDenied("a tenant may only stream its own metrics")
            for tenant_id in wanted:
                require_tenant_access(principal, tenant_id)
        subscription = self._view.subscribe(frozenset(wanted) or None)
        watch = asyncio.create_task(self._end_when_token_lapses(principal, subscription))
        sequence = 0
        try:
            async for change, snapshot, skipped in subscription.changes():
                sequence += 1
                update = analytics_pb2.ParkMetricsUpdate(
                    sequence=sequence, snapshot=snapshot, skipped=skipped,
                    tenant=mapping.summary_to_proto(change.ledger, self._currency),
                )
                if request.include_park:
                    update.park.CopyFrom(mapping.figures_to_proto(self._view.park_figures(), self._currency))
                yield update
        finally:
            watch.cancel()
            subscription.close()
        if watch.done() and not watch.cancelled():  # the subscription ended because the token lapsed
            raise Unauthenticated(f"{watch.result()}; the stream ends")

    async def _end_when_token_lapses(self, principal: Principal, subscription: Subscription) -> str:
        """Close the stream's subscription once the caller's token is revoked or expires; returns why."""
        while (reason := self._lapse_of(principal)) is None:
            await asyncio.sleep(self._token_check_seconds)
        subscription.close()
        return reason


def _may_read_tenant(principal: Principal, tenant_id: str) -> None:
    require_role(principal, Role.ADMIN, Role.TENANT)
    require_tenant_access(principal, tenant_id)


def _key_violations(dimension: Dimension | None, key: str) -> list[FieldViolation]:
    if dimension is Dimension.PARK:
        return [FieldViolation("key", "must be empty for the whole park")] if key else []
    if dimension is Dimension.TENANT:
        return _tenant_violations("key", key)
    if dimension in (Dimension.SUB_PARK, Dimension.SECTOR):
        if not key:
            return [FieldViolation("key", f"is required: the {dimension.value.replace('_', '-')} id")]
        if not _SLUG.fullmatch(key):
            return [FieldViolation("key", "must be an id like sp-energy or sec-digital-energy")]
    return []


def _tenant_violations(field: str, value: str) -> list[FieldViolation]:
    if not value:
        return [FieldViolation(field, "is required")]
    if not is_valid_id(value, TENANT_ID_PREFIX):
        return [FieldViolation(field, "is not a tenant id (ten_...)")]
    return []


def _refuse_unknown_fields(message: Message, path: str = "") -> None:
    violations = [
        FieldViolation(f"{path}#{unknown.field_number}", f"unknown field number {unknown.field_number}")
        for unknown in UnknownFieldSet(message)
    ]
    if violations:
        raise InvalidArgument("the request has fields this server does not know", violations)


def _nothing_known(dimension: Dimension) -> str:
    """Why a dimension's figures are missing: a tenant not seen yet, or no tenant there yet."""
    if dimension is Dimension.TENANT:
        return "this tenant is not known to analytics yet"
    return f"no tenant of this {dimension.value.replace('_', '-')} is known yet"
