"""The trades service as it runs in production (``python -m services.trades.main``), driven by
``parkctl products|orders|pools`` as an administrator would; then a graceful stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys

import pytest
from parkos.mongo import connect_mongo

from tests.integration.trades.trades_park import TenantFeed
from tests.integration.trades.trades_process import ROOT, ServiceProcess, service_env

pytestmark = pytest.mark.infra


def _parkctl(env: dict[str, str], target: str, *args: str, token: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "parkctl.cli", "--trades-target", target]
    if token:
        command += ["--token", token]
    return subprocess.run([*command, *args], cwd=ROOT, env={**env, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=60)


async def _json(env: dict[str, str], target: str, token: str, *args: str) -> dict:
    done = await asyncio.to_thread(_parkctl, env, target, "--json", *args, token=token)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_an_administrator_runs_the_exchange_with_parkctl(infra, signing_keys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    private_pem, public_pem = signing_keys
    (tmp_path / "signing.pem").write_bytes(private_pem)
    (tmp_path / "verify.pem").write_bytes(public_pem)
    database = infra.unique_name("trades_parkctl")
    env = service_env(infra, database, tmp_path / "verify.pem")
    service = ServiceProcess(env, tmp_path / "trades.log")
    feed = TenantFeed(infra.kafka_bootstrap, env["PARKOS_TENANTS_TOPIC"])
    mongo = connect_mongo(infra.mongo_uri, "trades-parkctl-e2e")
    await service.start()
    await feed.start()
    try:
        await feed.define_sub_park("sp-energy", 250)
        seller, buyer = await feed.register(), await feed.register(sub_park_id="sp-energy")

        async def known() -> bool:
            directory = mongo[database].directory
            return await directory.count_documents({"kind": "tenant", "status": "active"}) == 2 and \
                await directory.count_documents({"kind": "fee_rate"}) == 1

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not await known():
            assert loop.time() < deadline, "trades never learned the tenants"
            await asyncio.sleep(0.1)

        minted = await asyncio.to_thread(_parkctl, env, service.target, "auth", "admin-token",
                                         "--signing-key", str(tmp_path / "signing.pem"))
        assert minted.returncode == 0, minted.stderr
        token, target = minted.stdout.strip(), service.target

        product = await _json(env, target, token, "products", "add", "--seller", seller.tenant_id, "--title",
                              "Grid load forecasts, Shanxi 2024", "--price", "1234.56", "--use", "training")
        assert product["status"] == "PRODUCT_STATUS_PENDING_REVIEW" and product["price"]["amount_minor"] == "123456"
        queue = await asyncio.to_thread(_parkctl, env, target, "products", "list", "--status", "pending", token=token)
        assert queue.returncode == 0 and product["product_id"] in queue.stdout
        off_market = await asyncio.to_thread(_parkctl, env, target, "products", "list", "--status", "delisted",
                                             token=token)
        assert off_market.returncode == 0 and product["product_id"] not in off_market.stdout
        approved = await _json(env, target, token, "products", "review", product["product_id"], "approve")
        assert approved["orderable"]
        found = await asyncio.to_thread(_parkctl, env, target, "products", "search", "grid forecasts",
                                        "--min-price", "1000", "--max-price", "1234.56", token=token)
        assert found.returncode == 0 and "Grid load forecasts" in found.stdout
        too_cheap = await asyncio.to_thread(_parkctl, env, target, "products", "search", "--max-price", "1234.55",
                                            token=token)
        assert too_cheap.returncode == 0 and "Grid load forecasts" not in too_cheap.stdout

        order = await _json(env, target, token, "orders", "place", product["product_id"], "--buyer", buyer.tenant_id,
                            "--key", "parkctl-e2e-order-1")
        assert order["settlement"]["fee"]["amount_minor"] == "3086"  # 250 bps of 1234.56, rounded half up
        again = await _json(env, target, token, "orders", "place", product["product_id"], "--buyer", buyer.tenant_id,
                            "--key", "parkctl-e2e-order-1")
        assert again["order_id"] == order["order_id"], "the same key is a safe retry"
        shown = await asyncio.to_thread(_parkctl, env, target, "orders", "get", order["order_id"], token=token)
        assert shown.returncode == 0 and "1234.56 CNY" in shown.stdout and "30.86 CNY at 250 bps" in shown.stdout
        listed = await asyncio.to_thread(_parkctl, env, target, "orders", "list", "--tenant", seller.tenant_id,
                                         "--side", "seller", token=token)
        assert listed.returncode == 0 and order["order_id"] in listed.stdout
        refunded = await _json(env, target, token, "orders", "refund", order["order_id"], "--reason", "duplicate buy")
        assert refunded["status"] == "ORDER_STATUS_REFUNDED"
        twice = await asyncio.to_thread(_parkctl, env, target, "orders", "refund", order["order_id"], "--reason", "x",
                                        token=token)
        assert twice.returncode == 2 and "FAILED_PRECONDITION" in twice.stderr

        # the server's complaints name the options typed, not only the request's fields
        short_key = await asyncio.to_thread(_parkctl, env, target, "orders", "refund", order["order_id"], "--reason",
                                            "x", "--key", "rf1", token=token)
        assert short_key.returncode == 2 and "  - idempotency_key (--key): must be 8..128" in short_key.stderr, \
            short_key.stderr
        no_buyer = await asyncio.to_thread(_parkctl, env, target, "orders", "place", product["product_id"], token=token)
        assert no_buyer.returncode == 2 and "  - buyer_tenant_id (--buyer): " in no_buyer.stderr, no_buyer.stderr
        # with --json, the same complaint as one JSON object, the exit code unchanged
        as_json = await asyncio.to_thread(_parkctl, env, target, "--json", "orders", "place", product["product_id"],
                                          token=token)
        assert as_json.returncode == 2, as_json.stderr
        error = json.loads(as_json.stderr)["error"]
        assert error["code"] == "INVALID_ARGUMENT" and "correlation_id" not in error
        assert [(v["field"], v["flag"]) for v in error["field_violations"]] == [("buyer_tenant_id", "--buyer")]
        # both sides: the seller's sale is among them, as without --side
        both = await asyncio.to_thread(_parkctl, env, target, "orders", "list", "--tenant", seller.tenant_id,
                                       "--side", "both", token=token)
        assert both.returncode == 0 and order["order_id"] in both.stdout, both.stderr

        pool = await _json(env, target, token, "pools", "open", product["product_id"], "--tier", "1:0",
                           "--tier", "2:1500", "--closes-in", "1h")
        assert pool["status"] == "POOL_STATUS_OPEN" and len(pool["tiers"]) == 2
        member = await _json(env, target, token, "pools", "join", pool["pool_id"], "--buyer", buyer.tenant_id)
        assert member["status"] == "ORDER_STATUS_POOL_PENDING"
        nobody = await asyncio.to_thread(_parkctl, env, target, "pools", "join", pool["pool_id"], token=token)
        assert nobody.returncode == 2 and "  - buyer_tenant_id (--buyer): " in nobody.stderr, nobody.stderr
        pools = await asyncio.to_thread(_parkctl, env, target, "pools", "list", "--status", "open",
                                        "--page-size", "5", token=token)
        assert pools.returncode == 0 and pool["pool_id"] in pools.stdout

        bad = await asyncio.to_thread(_parkctl, env, target, "products", "add", "--seller", seller.tenant_id,
                                      "--title", "Negative", "--price", "-1.00", token=token)
        assert bad.returncode == 2 and "INVALID_ARGUMENT" in bad.stderr and "price.amount_minor (--price)" in bad.stderr
        secret = await _json(env, target, token, "products", "add", "--seller", seller.tenant_id, "--title",
                             "Smart meter readings per household", "--price", "10.00", "--level", "4")
        unassessed = await asyncio.to_thread(_parkctl, env, target, "products", "review", secret["product_id"],
                                             "approve", token=token)
        assert unassessed.returncode == 2, unassessed.stderr
        assert "  - security_assessment_ref (--assessment): is required" in unassessed.stderr
        anonymous = await asyncio.to_thread(_parkctl, env, target, "products", "search")
        assert anonymous.returncode == 2 and "UNAUTHENTICATED" in anonymous.stderr
    finally:
        await feed.stop()
        if service.process is not None and service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
            assert service.process.wait(timeout=30) == 0, "the service did not stop cleanly on SIGTERM"
        await mongo.drop_database(database)
        await mongo.close()
    assert '"event": "trades service started"' in service.log.read_text()  # production logs are JSON lines
