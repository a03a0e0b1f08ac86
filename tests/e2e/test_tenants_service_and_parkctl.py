"""The tenants service as it runs in production (``python -m services.tenants.main``), driven by
``parkctl`` as an administrator would: health, register, list, status, refusals, graceful stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo import MongoClient

from parkos import credit_code

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_serving(target: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(service="park.tenants.v1.TenantsService"), timeout=1)
                if status.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise AssertionError(f"tenants service at {target} never reported SERVING")


@pytest.fixture
def running_service(infra, signing_keys, tmp_path) -> Iterator[tuple[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    key_file = tmp_path / "token-signing.pem"
    key_file.write_bytes(signing_keys[0])
    port = _free_port()
    database = infra.unique_name("tenants_e2e")
    env = {
        **os.environ,
        "PARKOS_GRPC_PORT": str(port),
        "PARKOS_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "PARKOS_MONGO_URI": infra.mongo_uri,
        "PARKOS_MONGO_DATABASE": database,
        "PARKOS_TENANTS_TOPIC": infra.unique_name("test.tenants"),
        "PARKOS_TOKEN_PRIVATE_KEY_FILE": str(key_file),
        "PARKOS_ENVIRONMENT": "production",
        # parkctl runs from the source tree even where it is not installed
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tools" / "parkctl")]),
    }
    process = subprocess.Popen([sys.executable, "-m", "services.tenants.main"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_serving(f"127.0.0.1:{port}")
        yield f"127.0.0.1:{port}", env
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, "the service did not stop cleanly on SIGTERM"
        logs = process.stdout.read() if process.stdout else ""
        assert '"event": "tenants service started"' in logs  # production logs are JSON lines
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        with MongoClient(infra.mongo_uri) as mongo:
            mongo.drop_database(database)


def _parkctl(env: dict[str, str], target: str, *args: str, token: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "parkctl.cli", "--tenants-target", target]
    if token:
        command += ["--token", token]
    return subprocess.run([*command, *args], cwd=ROOT, env={**env, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=60)


def _instant(stamp: str) -> datetime:
    """An RFC 3339 timestamp of the JSON output."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_an_administrator_runs_the_park_with_parkctl(running_service: tuple[str, dict[str, str]]) -> None:
    target, env = running_service
    minted = _parkctl(env, target, "auth", "admin-token", "--signing-key", env["PARKOS_TOKEN_PRIVATE_KEY_FILE"])
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()

    code = credit_code.compose("140100", "MA0L8K3T")
    registered = _parkctl(env, target, "--json", "tenants", "register", "--name", "Shanxi Steel Vision Ltd.",
                          "--code", code, "--sub-park", "sp-manufacturing", "--sector", "sec-digital-manufacturing",
                          "--contact", "name=Zhang Min,email=zm@example.cn", token=token)
    assert registered.returncode == 0, registered.stderr
    tenant_id = json.loads(registered.stdout)["tenant_id"]

    activated = _parkctl(env, target, "tenants", "status", tenant_id, "active", token=token)
    assert activated.returncode == 0 and "active" in activated.stdout

    listed = _parkctl(env, target, "tenants", "list", "--sub-park", "sp-manufacturing", token=token)
    assert listed.returncode == 0 and tenant_id in listed.stdout and "Shanxi Steel Vision Ltd." in listed.stdout

    duplicate = _parkctl(env, target, "tenants", "register", "--name", "Copycat Ltd.", "--code", code,
                         "--sub-park", "sp-hq", "--sector", "sec-fintech", "--contact", "name=A,phone=12345678", token=token)
    assert duplicate.returncode == 2 and "ALREADY_EXISTS" in duplicate.stderr

    bad = _parkctl(env, target, "tenants", "register", "--name", "Bad Code Ltd.", "--code", code[:-1] + "0"
                   if code[-1] != "0" else code[:-1] + "1", "--sub-park", "sp-hq", "--sector", "sec-fintech",
                   "--contact", "name=A,phone=12345678", token=token)
    assert bad.returncode == 2 and "INVALID_ARGUMENT" in bad.stderr and "credit_code (--code)" in bad.stderr

    # no contact: refused by parkctl itself, nothing registered
    uncontactable = _parkctl(env, target, "tenants", "register", "--name", "Nobody Home Ltd.", "--code",
                             credit_code.compose("150100", "MA0N8K3T"), "--sub-park", "sp-hq", "--sector",
                             "sec-fintech", token=token)
    assert uncontactable.returncode == 2 and "Missing option '--contact'" in uncontactable.stderr
    assert "Nobody Home" not in _parkctl(env, target, "tenants", "list", "--name-prefix", "Nobody", token=token).stdout

    anonymous = _parkctl(env, target, "tenants", "get", tenant_id)
    assert anonymous.returncode == 2 and "UNAUTHENTICATED" in anonymous.stderr

    fee = _parkctl(env, target, "tenants", "trade-fee", "sp-logistics", "275", token=token)
    assert fee.returncode == 0 and "2.75%" in fee.stdout, fee.stderr
    listed = json.loads(_parkctl(env, target, "--json", "tenants", "sub-parks", token=token).stdout)
    assert {s["sub_park_id"]: s["trade_fee_bps"] for s in listed["sub_parks"]}["sp-logistics"] == 275
    assert _parkctl(env, target, "tenants", "trade-fee", "sp-logistics", "10001", token=token).returncode == 2


def test_parkctl_shows_what_tenants_wrote_as_written_and_page_tokens_whole(
    running_service: tuple[str, dict[str, str]],
) -> None:
    target, env = running_service
    minted = _parkctl(env, target, "auth", "admin-token", "--signing-key", env["PARKOS_TOKEN_PRIVATE_KEY_FILE"])
    token = minted.stdout.strip()
    tricky = "Acceptance [/] markup :smile: [bold red]x"  # a tag closing nothing, a style, an emoji code
    for number, area in enumerate(("240100", "250100")):
        registered = _parkctl(env, target, "tenants", "register", "--name", f"Markup {number} Ltd.",
                              "--code", credit_code.compose(area, f"MA0M{number}K3T"), "--sub-park", "sp-hq",
                              "--sector", "sec-fintech", "--contact", f"name={tricky},phone=12345678",
                              "--description", tricky, token=token)
        assert registered.returncode == 0, registered.stderr
        assert registered.stdout.count(tricky) == 2  # the contact and the description, as typed

    # 80 columns: the token of the next page must survive copy and paste from one line
    first = subprocess.run([sys.executable, "-m", "parkctl.cli", "--tenants-target", target, "--token", token,
                            "tenants", "list", "--sub-park", "sp-hq", "--page-size", "1"],
                           cwd=ROOT, env={**env, "COLUMNS": "80"}, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    more = [line for line in first.stdout.splitlines() if line.startswith("more: --page-token ")]
    assert len(more) == 1
    page_token = more[0].removeprefix("more: --page-token ").strip()
    second = _parkctl(env, target, "tenants", "list", "--sub-park", "sp-hq", "--page-size", "1",
                      "--page-token", page_token, token=token)
    assert second.returncode == 0, second.stderr
    assert "Markup 1 Ltd." in second.stdout

    refused = _parkctl(env, target, "tenants", "update", "ten_nonexistent[/]:smile:", "--description", "x", token=token)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr


def test_parkctl_pages_credentials_and_revenue_and_moves_no_tenant_back_to_pending(
    running_service: tuple[str, dict[str, str]],
) -> None:
    target, env = running_service
    token = _parkctl(env, target, "auth", "admin-token", "--signing-key", env["PARKOS_TOKEN_PRIVATE_KEY_FILE"]).stdout.strip()
    for label in ("first", "second"):
        issued = _parkctl(env, target, "tenants", "credentials", "issue", "--role", "bank", "--bank-id",
                          "bank-paging", "--label", label, token=token)
        assert issued.returncode == 0, issued.stderr

    def first_page(*args: str) -> dict:  # type: ignore[type-arg]
        listed = _parkctl(env, target, "--json", *args, "--page-size", "1", token=token)
        assert listed.returncode == 0, listed.stderr
        return json.loads(listed.stdout)

    credentials = first_page("tenants", "credentials", "list", "--role", "bank")
    assert len(credentials["credentials"]) == 1 and credentials["page"]["next_page_token"]

    # a lifetime as short as the park allows, given as a duration; shorter is refused naming --ttl
    short = _parkctl(env, target, "--json", "tenants", "credentials", "issue", "--role", "bank", "--bank-id",
                     "bank-short", "--ttl", "5m", token=token)
    assert short.returncode == 0, short.stderr
    credential = json.loads(short.stdout)["credential"]
    lifetime = _instant(credential["expires_at"]) - _instant(credential["issued_at"])
    assert abs(lifetime - timedelta(minutes=5)) < timedelta(seconds=1)  # the store keeps milliseconds
    too_short = _parkctl(env, target, "tenants", "credentials", "issue", "--role", "bank", "--bank-id", "bank-short",
                         "--ttl", "1m", token=token)
    assert too_short.returncode == 2 and "  - ttl (--ttl): must be between 5 minutes" in too_short.stderr, \
        too_short.stderr
    listed = _parkctl(env, target, "tenants", "credentials", "list", "--role", "bank", token=token)
    assert listed.returncode == 0 and "expired" in listed.stdout  # the column; none of these is past its expiry

    code = credit_code.compose("310100", "MA0P4G3T")
    tenant_id = json.loads(_parkctl(env, target, "--json", "tenants", "register", "--name", "Paging Ltd.", "--code", code,
                                    "--sub-park", "sp-hq", "--sector", "sec-fintech", "--contact",
                                    "name=A,phone=12345678", token=token).stdout)["tenant_id"]
    assert _parkctl(env, target, "tenants", "status", tenant_id, "active", token=token).returncode == 0
    for period in ("2026-08", "2026-09"):
        reported = _parkctl(env, target, "tenants", "revenue", "report", tenant_id, period, "1000.00", token=token)
        assert reported.returncode == 0, reported.stderr
    reports = first_page("tenants", "revenue", "list", tenant_id)
    assert len(reports["reports"]) == 1 and reports["page"]["next_page_token"]

    back = _parkctl(env, target, "tenants", "status", tenant_id, "pending", token=token)
    assert back.returncode == 2 and "active, suspended, offboarded" in back.stderr, back.stderr
