"""Scopes narrow a token below its role: what a scoped token may call, and that every call of
every service says which scope it needs."""

from __future__ import annotations

import pytest
from park.analytics.v1 import analytics_pb2
from park.tenants.v1 import tenants_pb2
from park.trades.v1 import trades_pb2
from parkos.auth import Principal, Role
from parkos.auth.scopes import ANY_TOKEN, KNOWN_SCOPES, full_method_scopes, require_scope
from parkos.errors import PermissionDenied

from services.analytics import api as analytics_api
from services.tenants import api as tenants_api
from services.trades import api as trades_api

PLACE_ORDER = "/park.trades.v1.TradesService/PlaceOrder"


def _principal(*scopes: str) -> Principal:
    return Principal(subject="ten_1", role=Role.TENANT, token_id="crd_1", tenant_id="ten_1", scopes=frozenset(scopes))


def test_an_unscoped_token_may_make_any_call_its_role_allows() -> None:
    require_scope(_principal(), "orders:write", PLACE_ORDER)
    require_scope(_principal(), None, PLACE_ORDER)


def test_a_scoped_token_may_make_only_the_calls_needing_one_of_its_scopes() -> None:
    require_scope(_principal("orders:read", "orders:write"), "orders:write", PLACE_ORDER)
    with pytest.raises(PermissionDenied, match="PlaceOrder: it needs scope orders:write"):
        require_scope(_principal("orders:read"), "orders:write", PLACE_ORDER)


def test_a_call_open_to_any_token_is_open_to_scoped_ones() -> None:
    require_scope(_principal("orders:read"), ANY_TOKEN, "/park.tenants.v1.TenantsService/ListSectors")


def test_a_call_that_names_no_scope_is_closed_to_scoped_tokens() -> None:
    with pytest.raises(PermissionDenied, match="not open to scoped tokens"):
        require_scope(_principal("orders:read"), None, "/park.x.v1.Other/Call")


def test_a_service_cannot_name_a_scope_the_park_does_not_know() -> None:
    with pytest.raises(ValueError, match="orders:cancel"):
        full_method_scopes("park.trades.v1.TradesService", {"PlaceOrder": "orders:cancel"})


@pytest.mark.parametrize(("module", "service"), [
    (tenants_api, tenants_pb2.DESCRIPTOR.services_by_name["TenantsService"]),
    (trades_api, trades_pb2.DESCRIPTOR.services_by_name["TradesService"]),
    (analytics_api, analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"]),
], ids=["tenants", "trades", "analytics"])
def test_every_call_of_every_service_names_the_scope_it_needs(module, service) -> None:  # type: ignore[no-untyped-def]
    assert set(module.METHOD_SCOPES) == {method.name for method in service.methods}
    assert set(module.METHOD_SCOPES.values()) <= KNOWN_SCOPES | {ANY_TOKEN}

