"""The simulator's live screen: amounts printed exactly from minor units, every panel present."""
from __future__ import annotations

from collections import Counter

from park.analytics.v1 import analytics_pb2
from park.common.v1.money_pb2 import Money
from rich.console import Console

from parksim.activity import ActivityLog
from parksim.analytics_view import LiveFigures
from parksim.money_text import yuan, yuan_rounded
from parksim.snapshot import ParkSnapshot
from parksim.view import activity_panel, render


def test_amounts_are_printed_from_integer_fen():
    assert yuan(12345678) == "123,456.78"
    assert yuan(-5) == "-0.05"
    assert yuan_rounded(12345650) == "123,457"


def test_the_screen_shows_tenants_revenue_top_tenants_and_activity():
    snapshot = ParkSnapshot({"sp-hq": "Headquarters Base"}, {"sp-hq": 300}, {"sp-hq": Counter(active=3)})
    activity = ActivityLog()
    activity.record("order", "ten_1 bought steel defect images")
    figures = LiveFigures(stub=None)
    park = analytics_pb2.RevenueFigures(
        revenue=Money(amount_minor=780_000, currency="CNY"),
        data_multiplier=analytics_pb2.Ratio(numerator=78, denominator=10, decimal="7.80"))
    figures.park, figures.sub_parks["sp-hq"] = park, park
    figures.tenants["ten_1"] = analytics_pb2.TenantSummary(tenant_id="ten_1", legal_name="Taiyuan Data", all_time=park)
    console = Console(width=140, record=True)
    console.print(render(snapshot, activity, None, figures))
    screen = console.export_text()
    for expected in ("Headquarters Base", "3.00%", "7.80", "7,800", "Taiyuan Data", "steel defect images"):
        assert expected in screen


def test_a_long_action_takes_one_line_of_the_activity_panel():
    activity = ActivityLog()
    activity.record("order", "Jinzhong Route Optimisation Co., Ltd. 6007 bought Industrial equipment identifiers for 30,937 CNY")
    console = Console(width=60, record=True)
    console.print(activity_panel(activity))
    body = console.export_text().splitlines()[1:-1]  # between the panel's borders
    assert len(body) == 1 and body[0].rstrip(" │").endswith("…")
