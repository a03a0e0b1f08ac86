"""What parkctl prints: data from tenants and servers shown exactly as it is, page tokens whole.

No services: the printing functions get messages built here, and print to consoles of our own.
Those consoles keep rich's defaults (markup and emoji codes on), so only data that parkctl hands
over as plain text passes.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import grpc
import pytest
from park.analytics.v1 import analytics_pb2
from park.tenants.v1 import tenants_pb2
from park.trades.v1 import trades_pb2
from rich.console import Console

from parkctl import output, products, tenants
from parkctl.analytics import Board
from parkctl.session import Session
from tests.unit.parkctl.stand_ins import Refused

# A closing tag with nothing to close (rich raises MarkupError), a style, and an emoji code.
TRICKY = "Acceptance [/] markup :smile: [bold red]x"


@dataclass
class Screen:
    out: io.StringIO
    err: io.StringIO

    def printed(self) -> str:
        return self.out.getvalue()

    def complained(self) -> str:
        return self.err.getvalue()


def _screen(monkeypatch: pytest.MonkeyPatch, width: int) -> Screen:
    screen = Screen(io.StringIO(), io.StringIO())
    monkeypatch.setattr(output, "console", Console(file=screen.out, width=width))
    monkeypatch.setattr(output, "errors", Console(file=screen.err, width=width))
    return screen


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> Screen:
    """A wide screen: nothing of interest folds."""
    return _screen(monkeypatch, width=250)


def _product() -> trades_pb2.Product:
    return trades_pb2.Product(product_id="prd_01", title=TRICKY, description=TRICKY, seller_tenant_id="ten_01",
                              sector_id="sec-fintech", status=trades_pb2.PRODUCT_STATUS_APPROVED, listed=True,
                              review=trades_pb2.ProductReview(approved=True, reasons=[TRICKY]))


def _tenant() -> tenants_pb2.Tenant:
    return tenants_pb2.Tenant(tenant_id="ten_01", legal_name=TRICKY, description=TRICKY, sub_park_id="sp-hq",
                              contacts=[tenants_pb2.Contact(name=TRICKY)])


def test_a_product_s_title_is_shown_as_typed_in_one_object(screen: Screen) -> None:
    products.show_product(Session(), _product())
    assert screen.printed().count(TRICKY) == 2  # the title and the review reason


def test_a_product_s_title_is_shown_as_typed_in_a_list(screen: Screen) -> None:
    response = trades_pb2.ListProductsResponse(products=[_product()])
    output.show_many(Session(), response, response.products, products.COLUMNS, title=f"Products of {TRICKY}")
    assert screen.printed().count(TRICKY) == 2  # the table's title and the row


def test_a_tenant_s_description_and_contacts_are_shown_as_typed(screen: Screen) -> None:
    tenants.show_tenant(Session(), _tenant())
    assert screen.printed().count(TRICKY) == 3  # legal name, contact, description


def test_the_live_view_shows_tenant_names_as_typed() -> None:
    board = Board(top=5)
    board.apply(analytics_pb2.ParkMetricsUpdate(tenant=analytics_pb2.TenantSummary(
        tenant_id="ten_01", legal_name=TRICKY, sub_park_id="sp-[/]hq")))
    out = io.StringIO()
    Console(file=out, width=250).print(board.render())
    assert TRICKY in out.getvalue() and "sp-[/]hq" in out.getvalue()


def test_a_server_s_message_and_field_violations_are_shown_as_typed(screen: Screen) -> None:
    error = Refused(grpc.StatusCode.INVALID_ARGUMENT, f"bad {TRICKY}", [(f"title {TRICKY}", f"too odd: {TRICKY}")])
    assert output.report_rpc_error(error, "--trades-target") == 2
    complaint = screen.complained()
    assert f"error: INVALID_ARGUMENT: bad {TRICKY}" in complaint
    assert f"  - title {TRICKY}: too odd: {TRICKY}" in complaint


def test_what_the_user_typed_is_quoted_as_typed_when_refused(screen: Screen) -> None:
    with pytest.raises(SystemExit) as exit_:
        output.fail(f"--contact {TRICKY!r}: use name=...")
    assert exit_.value.code == 2
    assert f"error: --contact '{TRICKY}': use name=..." in screen.complained()


def test_an_unreachable_service_is_named_by_the_option_that_says_where_it_is(screen: Screen) -> None:
    error = Refused(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses")
    assert output.report_rpc_error(error, "--trades-target") == 1
    assert "is --trades-target right?" in screen.complained()
    assert "--tenants-target" not in screen.complained()


def test_a_failure_that_is_not_the_caller_s_names_the_correlation_id_to_look_for(screen: Screen) -> None:
    assert output.report_rpc_error(Refused(grpc.StatusCode.INTERNAL, "boom"), "--trades-target", "0193-abc") == 1
    assert "correlation id 0193-abc" in screen.complained()
    refused = Refused(grpc.StatusCode.NOT_FOUND, "order not found")
    assert output.report_rpc_error(refused, "--trades-target", "0193-def") == 2
    assert "0193-def" not in screen.complained()  # the caller's own mistake: nothing to look up


def test_a_field_violation_names_the_option_the_field_was_filled_from(screen: Screen) -> None:
    error = Refused(grpc.StatusCode.INVALID_ARGUMENT, "the refund is invalid", [
        ("idempotency_key", "must be 8..128 characters"), ("price.amount_minor", "must be more than zero"),
        ("contacts[0].email", "is not an email address"), ("order_id", "is required"),
    ])
    flags = {"idempotency_key": "--key", "price": "--price", "contacts": "--contact"}
    assert output.report_rpc_error(error, "--trades-target", flags=flags) == 2
    complaint = screen.complained()
    assert "  - idempotency_key (--key): must be 8..128 characters" in complaint
    assert "  - price.amount_minor (--price): must be more than zero" in complaint  # a part of the field
    assert "  - contacts[0].email (--contact): is not an email address" in complaint
    assert "  - order_id: is required" in complaint  # an argument, not an option: nothing to add


def test_the_most_precise_flag_is_the_one_named() -> None:
    flags = {"price": "--price", "price.currency": "--currency"}
    assert output.flag_of("price.currency", flags) == "--currency"
    assert output.flag_of("price.amount_minor", flags) == "--price"
    assert output.flag_of("prices", flags) == ""  # a prefix of the name is not a part of the field


def test_with_json_a_refused_call_is_one_json_object_on_stderr(screen: Screen) -> None:
    error = Refused(grpc.StatusCode.INVALID_ARGUMENT, f"bad {TRICKY}", [("idempotency_key", "too short"),
                                                                       ("order_id", "is required")])
    assert output.report_rpc_error(error, "--trades-target", "0193-abc", flags={"idempotency_key": "--key"},
                                   as_json=True) == 2
    assert json.loads(screen.complained()) == {"error": {
        "code": "INVALID_ARGUMENT", "message": f"bad {TRICKY}", "field_violations": [
            {"field": "idempotency_key", "flag": "--key", "description": "too short"},
            {"field": "order_id", "description": "is required"},
        ],
    }}  # no correlation id: the caller's own mistake, as in text


def test_with_json_a_failure_that_is_not_the_caller_s_carries_the_correlation_id(screen: Screen) -> None:
    assert output.report_rpc_error(Refused(grpc.StatusCode.INTERNAL, "boom"), "--trades-target", "0193-abc",
                                   as_json=True) == 1
    assert json.loads(screen.complained()) == {"error": {
        "code": "INTERNAL", "message": "boom", "field_violations": [], "correlation_id": "0193-abc"}}


def test_the_next_page_token_stays_on_one_line_on_a_narrow_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = _screen(monkeypatch, width=80)
    token = "eyJhZnRlciI6" + "x" * 150
    response = tenants_pb2.ListTenantsResponse(tenants=[_tenant()], page={"next_page_token": token})
    output.show_many(Session(), response, response.tenants, [("tenant", lambda t: t.tenant_id)], title="Tenants")
    assert f"more: --page-token {token}\n" in screen.printed()
