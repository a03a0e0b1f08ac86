"""parkctl's commands refusing bad input cleanly, naming the right service, watching the right tenants.

In process (typer's runner), without services: refusals happen before any call, unreachable services
are free local ports, and the analytics stream is a stand-in that records what it was asked.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from park.analytics.v1 import analytics_pb2
from park.tenants.v1 import tenants_pb2
from park.trades.v1 import trades_pb2
from parkos.auth import Role, TokenIssuer, generate_signing_key
from rich.console import Console
from typer.testing import CliRunner, Result

from parkctl import output
from parkctl.amounts import money_arg
from parkctl.analytics import watch_request
from parkctl.cli import app
from parkctl.session import Session
from tests.unit.parkctl.stand_ins import Refused, Service


# what the caller's environment may set is not what these tests say
_UNSET = {"PARKCTL_TOKEN": None, "PARKCTL_TENANTS_TARGET": None, "PARKCTL_TRADES_TARGET": None,
          "PARKCTL_ANALYTICS_TARGET": None}


def _parkctl(*args: str) -> Result:
    return CliRunner(env=_UNSET).invoke(app, list(args))


def _help(*args: str) -> str:
    """The help of a command, on a screen wide enough that no line of it folds inside its box."""
    result = CliRunner(env={**_UNSET, "COLUMNS": "250"}).invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return _said(result.stdout)


def _said(text: str) -> str:
    """``text`` with its line breaks and runs of spaces as one space: messages fold at the screen's edge."""
    return " ".join(text.split())


def _nobody_listens() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def _refused_cleanly(result: Result) -> str:
    """A usage error: exit 2, a message and no traceback; returns the message."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return _said(result.stderr)


# 3. amounts that do not fit the wire's int64 minor units


@pytest.mark.parametrize(("args", "named"), [
    (["tenants", "revenue", "report", "ten_01", "2026-09", "99999999999999999999"], "AMOUNT"),
    (["products", "add", "--title", "x", "--price", "99999999999999999999"], "--price"),
    (["products", "search", "--max-price", "99999999999999999999"], "--max-price"),
    (["products", "search", "--min-price", "-92233720368547758.09"], "--min-price"),
])
def test_an_amount_too_large_for_the_park_is_a_usage_error_naming_where_it_was_given(args: list[str], named: str) -> None:
    said = _refused_cleanly(_parkctl("--trades-target", _nobody_listens(), "--tenants-target", _nobody_listens(), *args))
    assert f"error: {named}: " in said and "is out of range" in said and "92233720368547758.07 CNY" in said


def test_the_largest_amount_the_park_records_is_accepted() -> None:
    assert money_arg("92233720368547758.07", "CNY", "--price") == {"amount_minor": 2**63 - 1, "currency": "CNY"}
    assert money_arg("-92233720368547758.08", "CNY", "--price") == {"amount_minor": -(2**63), "currency": "CNY"}


# 4. a signing key that is not one


@pytest.fixture
def key_files(tmp_path: Path) -> dict[str, Path]:
    private_pem, public_pem = generate_signing_key()
    files = {"private": private_pem, "public": public_pem, "text": b"not a key at all\n"}
    for name, content in files.items():
        (tmp_path / f"{name}.pem").write_bytes(content)
    return {name: tmp_path / f"{name}.pem" for name in files}


@pytest.mark.parametrize("kind", ["public", "text"])
def test_a_signing_key_that_is_not_an_ed25519_private_key_is_refused_without_a_traceback(
    key_files: dict[str, Path], kind: str,
) -> None:
    said = _refused_cleanly(_parkctl("auth", "admin-token", "--signing-key", str(key_files[kind])))
    assert f"--signing-key {key_files[kind]}: not an Ed25519 private key in PEM" in said


def test_the_signing_key_signs_an_admin_token(key_files: dict[str, Path]) -> None:
    result = _parkctl("auth", "admin-token", "--signing-key", str(key_files["private"]))
    assert result.exit_code == 0 and result.stdout.count(".") == 2  # header.claims.signature


# 6. an unreachable service is named by its own option


@pytest.mark.parametrize(("args", "option"), [
    (["--tenants-target", "{target}", "--trades-target", "{other}", "tenants", "list"], "--tenants-target"),
    (["--trades-target", "{target}", "--tenants-target", "{other}", "products", "search", "sensor"], "--trades-target"),
    (["--tenants-target", "{other}", "analytics", "--target", "{target}", "revenue"], "analytics --target"),
])
def test_an_unreachable_service_is_named_by_the_option_that_says_where_it_is(args: list[str], option: str) -> None:
    targets = {"target": _nobody_listens(), "other": "127.0.0.1:50051"}
    result = _parkctl("--timeout", "5", *(arg.format(**targets) for arg in args))
    assert result.exit_code == 1, result.output
    said = _said(result.stderr)
    assert "error: UNAVAILABLE" in said and f"is the service running, and is {option} right?" in said
    assert said.count("-target") == 1  # the hint names no other service


def test_a_server_message_quoting_the_target_is_shown_as_typed() -> None:
    result = _parkctl("--trades-target", "nonsense:abc", "--timeout", "5", "products", "search", "x")
    assert result.exit_code == 1, result.output
    assert "nonsense:abc" in _said(result.stderr)  # not "nonsense🔤"


def test_a_contact_that_looks_like_markup_is_quoted_as_typed() -> None:
    said = _refused_cleanly(_parkctl("tenants", "register", "--name", "x", "--code", "y", "--sub-park", "sp-hq",
                                     "--sector", "sec-fintech", "--contact", "foo[/]"))
    assert "--contact 'foo[/]'" in said


# 5. analytics watch: whom it asks for, and JSON lines


def _token(role: Role, **binding: str) -> str:
    issuer = TokenIssuer(generate_signing_key()[0])
    return issuer.issue(role, f"{role.value}:test", ttl=timedelta(minutes=5), **binding).token


def test_an_admin_watches_the_whole_park() -> None:
    request = watch_request(Session(token=_token(Role.ADMIN)), [])
    assert list(request.tenant_ids) == [] and request.include_park


def test_a_tenant_watches_itself() -> None:
    request = watch_request(Session(token=_token(Role.TENANT, tenant_id="ten_01")), [])
    assert list(request.tenant_ids) == ["ten_01"] and not request.include_park


def test_the_tenants_named_are_watched_whoever_asks() -> None:
    request = watch_request(Session(token=_token(Role.ADMIN)), ["ten_01", "ten_02"])
    assert list(request.tenant_ids) == ["ten_01", "ten_02"] and not request.include_park


@pytest.mark.parametrize("token", [None, "", "not-a-token", "a.b.c", "a.bnVsbA.c"])
def test_without_a_readable_tenant_token_the_whole_park_is_asked_for(token: str | None) -> None:
    # the service decides; a token parkctl cannot read is the service's to refuse
    assert watch_request(Session(token=token), []).include_park


class Stream:
    """A stand-in for the analytics service's stream: a few updates, then the stream ends."""

    def __init__(self) -> None:
        self.requests: list[analytics_pb2.StreamParkMetricsRequest] = []
        self.cancelled = False

    def StreamParkMetrics(self, request: analytics_pb2.StreamParkMetricsRequest, timeout: float | None) -> Stream:  # noqa: N802
        self.requests.append(request)
        return self

    def __iter__(self) -> Iterator[analytics_pb2.ParkMetricsUpdate]:
        for sequence, tenant_id in enumerate(["ten_01", "ten_02"], start=1):
            yield analytics_pb2.ParkMetricsUpdate(
                sequence=sequence, snapshot=True,
                tenant=analytics_pb2.TenantSummary(tenant_id=tenant_id, legal_name=f"Tenant {tenant_id}"),
            )

    def cancel(self) -> None:
        self.cancelled = True


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch) -> Stream:
    stream = Stream()
    monkeypatch.setattr(Session, "analytics", lambda session, target: stream)
    return stream


def test_watch_with_json_prints_one_json_object_per_update(stream: Stream) -> None:
    result = _parkctl("--json", "analytics", "watch", "--seconds", "3")
    assert result.exit_code == 0, result.output
    updates = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(u["sequence"], u["tenant"]["tenant_id"]) for u in updates] == [("1", "ten_01"), ("2", "ten_02")]
    assert stream.cancelled


def test_watch_without_json_draws_the_board(stream: Stream) -> None:
    result = _parkctl("analytics", "watch", "--seconds", "3")
    assert result.exit_code == 0, result.output
    assert "Revenue by sub-park" in result.stdout and "Tenant ten_02" in result.stdout


def test_watch_with_a_tenant_token_asks_for_that_tenant_only(stream: Stream) -> None:
    result = _parkctl("--token", _token(Role.TENANT, tenant_id="ten_01"), "analytics", "watch", "--seconds", "3")
    assert result.exit_code == 0, result.output
    assert [list(r.tenant_ids) for r in stream.requests] == [["ten_01"]]
    assert not stream.requests[0].include_park


# what parkctl loads before it runs a command (each was a fifth to a half of a second of its start)


def test_parkctl_starts_without_the_server_side_settings_logging_or_token_code() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, parkctl.cli; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, timeout=60).stdout.split()
    for heavy in ("parkos.config", "parkos.grpc.server", "structlog", "jwt", "parkos.auth.tokens"):
        assert heavy not in loaded, heavy


# the acceptance tester's findings: a required --contact, flags in servers' complaints, --side both,
# errors as JSON, --ttl and expired credentials, which analytics option is wrong


def test_register_refuses_a_missing_contact_before_any_call() -> None:
    said = _refused_cleanly(_parkctl("--tenants-target", _nobody_listens(), "tenants", "register", "--name", "x",
                                     "--code", "y", "--sub-park", "sp-hq", "--sector", "sec-fintech"))
    assert "Missing option '--contact'" in said and "UNAVAILABLE" not in said  # no service was asked


def test_register_s_help_says_a_contact_is_required() -> None:
    shown = _help("tenants", "register")
    assert "at least one is required (repeat for several)" in shown and "[required]" in shown


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Service:
    """One stand-in for the tenants and trades services: their methods' names never clash."""
    service = Service()
    monkeypatch.setattr(Session, "trades", lambda session: service)
    monkeypatch.setattr(Session, "tenants", lambda session: service)
    return service


def _invalid(field: str, description: str) -> Refused:
    return Refused(grpc.StatusCode.INVALID_ARGUMENT, "the request is invalid", [(field, description)])


@pytest.mark.parametrize(("args", "method", "field", "flag"), [
    (["orders", "refund", "ord_1", "--reason", "x", "--key", "rf1"], "RefundOrder", "idempotency_key", "--key"),
    (["orders", "place", "prd_1"], "PlaceOrder", "buyer_tenant_id", "--buyer"),
    (["pools", "join", "pool_1"], "JoinPool", "buyer_tenant_id", "--buyer"),
    (["products", "review", "prd_1", "approve"], "ReviewProduct", "security_assessment_ref", "--assessment"),
    (["products", "add", "--title", "x", "--price", "-1"], "ListProduct", "price.amount_minor", "--price"),
    (["products", "add", "--title", "x", "--price", "1"], "ListProduct", "seller_tenant_id", "--seller"),
    (["orders", "list", "--tenant", "bad id"], "ListOrders", "tenant_id", "--tenant"),
    (["pools", "open", "prd_1", "--tier", "1:0", "--closes-in", "1s"], "OpenPool", "closes_at", "--closes-in"),
    (["tenants", "register", "--name", "x", "--code", "y", "--sub-park", "sp-hq", "--sector", "sec-fintech",
      "--contact", "name=A"], "RegisterTenant", "contacts[0].email", "--contact"),
    (["tenants", "list", "--page-token", "junk"], "ListTenants", "page.page_token", "--page-token"),
    (["tenants", "credentials", "issue", "--role", "bank", "--ttl", "1m"], "IssueCredential", "ttl", "--ttl"),
    (["tenants", "credentials", "issue", "--role", "bank", "--ttl-days", "999"], "IssueCredential", "ttl", "--ttl-days"),
])
def test_a_servers_complaint_about_a_field_names_the_option_it_came_from(
    service: Service, args: list[str], method: str, field: str, flag: str,
) -> None:
    service.answers[method] = _invalid(field, "is required")
    result = _parkctl(*args)
    assert result.exit_code == 2, result.output
    assert f"  - {field} ({flag}): is required" in result.stderr


def test_orders_list_side_both_is_the_same_as_no_side(service: Service) -> None:
    service.answers["ListOrders"] = trades_pb2.ListOrdersResponse()
    result = _parkctl("orders", "list", "--side", "both")
    assert result.exit_code == 0, result.output
    assert service.requests["ListOrders"].side == trades_pb2.ORDER_SIDE_UNSPECIFIED


def test_orders_list_names_every_side_it_accepts() -> None:
    said = _refused_cleanly(_parkctl("orders", "list", "--side", "sideways"))
    assert "--side must be one of buyer, seller, both" in said


def test_with_json_a_refused_call_prints_one_json_object_and_keeps_its_exit_code(service: Service) -> None:
    service.answers["RefundOrder"] = _invalid("idempotency_key", "must be 8..128 characters")
    result = _parkctl("--json", "orders", "refund", "ord_1", "--reason", "x", "--key", "rf1")
    assert result.exit_code == 2, result.output
    assert json.loads(result.stderr) == {"error": {
        "code": "INVALID_ARGUMENT", "message": "the request is invalid",
        "field_violations": [{"field": "idempotency_key", "flag": "--key", "description": "must be 8..128 characters"}],
    }}


def test_with_json_an_unreachable_service_is_a_json_error_with_the_correlation_id() -> None:
    result = _parkctl("--json", "--timeout", "5", "--trades-target", _nobody_listens(), "orders", "list")
    assert result.exit_code == 1, result.output
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "UNAVAILABLE" and error["correlation_id"]


def _issued(service: Service, *args: str) -> tenants_pb2.IssueCredentialRequest:
    service.answers["IssueCredential"] = tenants_pb2.IssueCredentialResponse(token="t")
    result = _parkctl("tenants", "credentials", "issue", "--role", "bank", "--bank-id", "bank-1", *args)
    assert result.exit_code == 0, result.output
    return service.requests["IssueCredential"]


@pytest.mark.parametrize(("args", "seconds"), [
    (["--ttl", "5m"], 300), (["--ttl", "12h"], 12 * 3600), (["--ttl", "30d"], 30 * 86400),
    (["--ttl-days", "2"], 2 * 86400),
])
def test_a_credential_s_lifetime_is_given_as_a_duration_or_in_days(
    service: Service, args: list[str], seconds: int,
) -> None:
    assert _issued(service, *args).ttl.seconds == seconds


def test_without_a_lifetime_the_server_chooses_it(service: Service) -> None:
    assert not _issued(service).HasField("ttl")


@pytest.mark.parametrize(("args", "complaint"), [
    (["--ttl", "5m", "--ttl-days", "2"], "give --ttl or --ttl-days, not both"),
    (["--ttl", "5 minutes"], "--ttl '5 minutes': use e.g. 90s, 30m, 12h or 7d"),
])
def test_a_lifetime_given_wrongly_is_refused_before_any_call(args: list[str], complaint: str) -> None:
    said = _refused_cleanly(_parkctl("--tenants-target", _nobody_listens(), "tenants", "credentials", "issue",
                                     "--role", "bank", "--bank-id", "bank-1", *args))
    assert complaint in said


def test_a_pool_s_closing_time_is_read_by_the_same_rule() -> None:
    said = _refused_cleanly(_parkctl("--trades-target", _nobody_listens(), "pools", "open", "prd_1", "--tier", "1:0",
                                     "--closes-in", "soon"))
    assert "--closes-in 'soon': use e.g. 90s, 30m, 12h or 7d" in said


def _credential(credential_id: str, expires: datetime) -> tenants_pb2.Credential:
    credential = tenants_pb2.Credential(credential_id=credential_id, role=tenants_pb2.ROLE_BANK, bank_id="bank-1")
    credential.expires_at.FromDatetime(expires)
    return credential


def test_credentials_past_their_expiry_are_listed_as_expired(service: Service) -> None:
    now = datetime.now(UTC)
    service.answers["ListCredentials"] = tenants_pb2.ListCredentialsResponse(credentials=[
        _credential("cred_old", now - timedelta(minutes=1)), _credential("cred_new", now + timedelta(days=1)),
    ])
    result = _parkctl("tenants", "credentials", "list")
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if "cred_" in line}
    assert "expired" in rows["cred_old"] and "expired" not in rows["cred_new"]


def test_credentials_are_listed_with_their_scopes(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    scoped = _credential("cred_bi", datetime.now(UTC) + timedelta(days=1))
    scoped.scopes.extend(["orders:read", "products:read"])
    service.answers["ListCredentials"] = tenants_pb2.ListCredentialsResponse(credentials=[
        scoped, _credential("cred_all", datetime.now(UTC) + timedelta(days=1))])
    screen = io.StringIO()
    monkeypatch.setattr(output, "console", Console(file=screen, width=250))  # a wide screen: no cell wraps
    result = _parkctl("tenants", "credentials", "list")
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in screen.getvalue().splitlines() if "cred_" in line}
    assert "orders:read, products:read" in rows["cred_bi"] and "(all of its role)" in rows["cred_all"]


def test_pools_get_says_what_it_shows() -> None:
    shown = _help("pools", "get")
    assert "how many members joined" in shown and "Show one pool: members," not in shown


@pytest.mark.parametrize(("args", "wrong", "right"), [
    (["--dimension", "galaxy"], "--dimension 'galaxy' must be one of park, sub-park, sector, tenant", "--window"),
    (["--window", "week"], "--window 'week' must be one of all-time, hour, day", "--dimension"),
])
def test_analytics_revenue_names_the_option_that_is_wrong(args: list[str], wrong: str, right: str) -> None:
    said = _refused_cleanly(_parkctl("analytics", "--target", _nobody_listens(), "revenue", *args))
    assert wrong in said and right not in said


def test_a_negative_amount_is_an_amount_not_an_option() -> None:
    result = _parkctl("--tenants-target", _nobody_listens(), "--timeout", "1", "tenants", "revenue", "report",
                      "ten_01", "2026-09", "-5.00")
    assert "No such option" not in result.output
    assert result.exit_code == 1 and "UNAVAILABLE" in result.output  # it was sent: the server judges it
