"""Tenants service benchmark: RegisterTenant and GetTenant over real gRPC, with baselines.

In one run, against the running local infrastructure (`make infra-up`):

  0  the tenants service is started as it runs in production (`python -m
     services.tenants.main`, JSON logs at INFO with an access-log line per call), in its
     own process, on a fresh database; a few hundred tenants are registered to read.
  H  health-check RPC on the same server (no storage, no token): closed loop, N clients,
     then one client (as for G, R and F) to show the cost of a single call.
  G  GetTenant (admin token, random registered tenant): closed loop, N clients.
  R  RegisterTenant (a fresh valid credit code each; one transaction with its outbox
     row): closed loop, N clients.
  F  bare `find_one` by _id on the same store, from this process: closed loop, N clients.
  P  GetTenant and RegisterTenant paced (open loop) at half the rate G and R sustained;
     latency from each call's scheduled start (no coordinated omission), and next to it
     the same calls' durations in the service's own access log ("in service"): what the
     handler took, against what the caller waited.

Where everything runs matters on a two-core machine: each paced run prints how many cores
the service, the store, Kafka and this benchmark kept busy, and ``--pin`` gives the service a
CPU of its own (``--pin service``; bench/common/cpu_placement.py) with everything else on the
other, or the store (``--pin store``).

Targets (issue 3): G >= 60% of H; GetTenant p99 <= 15 ms at half its sustainable rate.
RegisterTenant's paced p99 is reported next to it.

usage (from the repository root):
  .venv/bin/python -m bench.tenants            # default run, about 1.5 minutes on 2 cores
  .venv/bin/python -m bench.tenants --quick    # smoke run, about 30 s
  .venv/bin/python -m bench.tenants --pin service  # the service on a CPU of its own
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench.common` and `services` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grpc_health.v1 import health_pb2, health_pb2_grpc
from park.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from parkos.auth import Role, TokenIssuer, generate_signing_key
from parkos.grpc import open_channel
from parkos.mongo import connect_mongo
from parkos.runtime import tune_gc_after_startup

from bench.common import (
    BenchInfra,
    LatencyHistogram,
    LoadResult,
    Table,
    Targets,
    describe_machine,
    drop_databases,
    fmt_ms,
    fmt_rate,
    run_closed_loop,
    run_open_loop,
)
from bench.common.cpu_placement import PLACEMENTS, alone_on_a_cpu, placed_processes
from bench.common.proc import CoresBusy, fmt_cores_busy, fmt_cpu_per_call
from bench.common.service_process import ServiceProcess
from parkos import credit_code

READ_RATIO_TARGET = 0.60
P99_TARGET_MS = 15.0
SERVICE = "park.tenants.v1.TenantsService"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.tenants", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: short windows")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients in closed loops")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per closed loop [8; quick 3]")
    parser.add_argument("--paced-seconds", type=float, default=None, help="seconds per paced run [12; quick 4]")
    parser.add_argument("--tenants", type=int, default=1000, help="tenants registered before reading (the park has ~1,000)")
    parser.add_argument("--cache-seconds", type=float, default=5.0, help="the service's PARKOS_TENANT_CACHE_SECONDS (0: off)")
    parser.add_argument("--channels", type=int, default=2, help="gRPC channels the clients share")
    parser.add_argument("--pin", choices=PLACEMENTS, default=None,
                        help="give the service or the store a CPU of its own; everything else shares the rest")
    parser.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (3.0 if args.quick else 8.0)
    args.paced_seconds = args.paced_seconds or (4.0 if args.quick else 12.0)
    return args


def progress(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)


def fresh_credit_code(rng: random.Random) -> str:
    """A valid unified social credit code (both check characters computed)."""
    return credit_code.random_code(rng)


def registration(rng: random.Random, number: int) -> tenants_pb2.RegisterTenantRequest:
    return tenants_pb2.RegisterTenantRequest(
        legal_name=f"Bench Enterprise {number:06d} Co., Ltd.",
        credit_code=fresh_credit_code(rng),
        sub_park_id=rng.choice(["sp-energy", "sp-manufacturing", "sp-ai", "sp-media"]),
        sector_id=rng.choice(["sec-digital-energy", "sec-ai-model-services", "sec-data-services"]),
        contacts=[tenants_pb2.Contact(name="Bench Contact", email="bench@example.cn")],
    )


def tenants_service(infra: BenchInfra, database: str, key_file: Path, log_file: Path,
                    cache_seconds: float) -> ServiceProcess:
    """The tenants service in its own process, configured as in production."""
    env = {
        **os.environ, "PARKOS_MONGO_DATABASE": database, "PARKOS_TENANTS_TOPIC": f"bench.{database}.tenants",
        "PARKOS_MONGO_URI": infra.mongo_uri, "PARKOS_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "PARKOS_TOKEN_PRIVATE_KEY_FILE": str(key_file), "PARKOS_ENVIRONMENT": "production",
        "PARKOS_LOG_LEVEL": "INFO", "PARKOS_TENANT_CACHE_SECONDS": str(cache_seconds),
    }
    return ServiceProcess("services.tenants.main", SERVICE, env, log_file)


class Clients:
    """Stubs over a few shared channels, handed out round robin."""

    def __init__(self, target: str, token: str, channels: int) -> None:
        self._channels = [open_channel(target, token=token) for _ in range(channels)]
        self.tenants = [tenants_pb2_grpc.TenantsServiceStub(c) for c in self._channels]
        self.health = [health_pb2_grpc.HealthStub(c) for c in self._channels]
        self._turn = 0

    def next(self) -> int:
        self._turn = (self._turn + 1) % len(self._channels)
        return self._turn

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()


def _row(table: Table, name: str, result: LoadResult, note: str = "") -> None:
    summary = result.latency.summary()
    table.add(name, fmt_rate(result.throughput), fmt_ms(summary.p50_ms), fmt_ms(summary.p99_ms),
              f"{result.errors:,}", note)


async def run(args: argparse.Namespace) -> bool:
    infra = BenchInfra.from_env()
    infra.check_reachable()
    database = infra.name("bench_tenants")
    rng = random.Random(7)
    workdir = Path(tempfile.mkdtemp(prefix="bench-tenants-"))
    private_pem, _ = generate_signing_key()
    (workdir / "signing.pem").write_bytes(private_pem)
    token = TokenIssuer(private_pem).issue(Role.ADMIN, "admin:bench", ttl=timedelta(hours=1)).token
    service = tenants_service(infra, database, workdir / "signing.pem", workdir / "tenants.log", args.cache_seconds)
    mongo = connect_mongo(infra.mongo_uri, "bench-tenants")
    progress(f"starting the tenants service on {service.target} (logs: {workdir / 'tenants.log'})")
    placement = contextlib.ExitStack()
    clients: Clients | None = None
    try:
        await service.start()
        args.placement_note = placement.enter_context(alone_on_a_cpu(args.pin, placed_processes({"service": service.pid})))
        clients = Clients(service.target, token, args.channels)
        return await _measure(args, clients, mongo[database]["tenants"], rng, service)
    finally:
        placement.close()
        if clients is not None:
            await clients.close()
        service.stop()
        await drop_databases(mongo, [database])
        await mongo.close()


async def _measure(args: argparse.Namespace, clients: Clients, collection, rng: random.Random,  # type: ignore[no-untyped-def]
                   service: ServiceProcess) -> bool:
    progress(f"registering {args.tenants} tenants to read")
    ids: list[str] = []
    for start in range(0, args.tenants, 32):
        batch = [clients.tenants[clients.next()].RegisterTenant(registration(rng, n), timeout=30)
                 for n in range(start, min(start + 32, args.tenants))]
        ids.extend(tenant.tenant_id for tenant in await asyncio.gather(*batch))
    # the client's own full GC passes would show up as the service's latency: freeze what the
    # setup made, exactly as the service does after its start
    tune_gc_after_startup()
    numbers = iter(range(args.tenants, 10**9))
    health_request = health_pb2.HealthCheckRequest(service=SERVICE)

    async def health() -> None:
        await clients.health[clients.next()].Check(health_request, timeout=5)

    async def get_tenant() -> None:
        await clients.tenants[clients.next()].GetTenant(tenants_pb2.GetTenantRequest(tenant_id=rng.choice(ids)), timeout=5)

    async def register() -> None:
        await clients.tenants[clients.next()].RegisterTenant(registration(rng, next(numbers)), timeout=10)

    async def find_one() -> None:
        await collection.find_one({"_id": rng.choice(ids)})

    closed = {}
    for label, op in (("H health check", health), ("G GetTenant", get_tenant),
                      ("R RegisterTenant", register), ("F bare find_one", find_one)):
        progress(f"{label}: closed loop, {args.clients} clients, {args.seconds:g} s")
        closed[label[0]] = await run_closed_loop(op, concurrency=args.clients, seconds=args.seconds)

    single = {}
    for label, op in (("H", health), ("G", get_tenant), ("R", register), ("F", find_one)):
        progress(f"{label}: one client, {args.seconds / 2:g} s")
        single[label] = await run_closed_loop(op, concurrency=1, seconds=args.seconds / 2)

    paced, paced_cpu, handled = {}, {}, {}
    args.paced_cores = {}
    for key, op, method in (("G", get_tenant, "/GetTenant"), ("R", register, "/RegisterTenant")):
        offered = max(closed[key].throughput * 0.5, 1.0)
        progress(f"{key}: paced at {offered:,.0f}/s for {args.paced_seconds:g} s")
        busy = CoresBusy(placed_processes({"service": service.pid}))
        busy.start()
        before, logged_from = service.cpu_seconds(), service.log_position()
        paced[key] = await run_open_loop(op, rate_per_second=offered, seconds=args.paced_seconds)
        after = service.cpu_seconds()
        args.paced_cores[key] = busy.stop()
        paced_cpu[key] = after - before if before is not None and after is not None else None
        await asyncio.sleep(0.5)  # the last access-log lines
        handled[key] = service.handled_latency(logged_from, service.log_position(), method)
    return _report(args, closed, single, paced, paced_cpu, handled)


def _report(
    args: argparse.Namespace, closed: dict[str, LoadResult], single: dict[str, LoadResult], paced: dict[str, LoadResult],
    paced_cpu: dict[str, float | None], handled: dict[str, LatencyHistogram],
) -> bool:
    print(f"\nTenants service benchmark — {describe_machine()}\nCPU placement: {args.placement_note}\n")
    table = Table(f"Closed loop, {args.clients} concurrent clients, {args.seconds:g} s each",
                  ["call", "throughput", "p50", "p99", "errors", "note"])
    _row(table, "H health check (no storage)", closed["H"], "baseline")
    ratio = closed["G"].throughput / closed["H"].throughput if closed["H"].throughput else 0.0
    _row(table, "G GetTenant", closed["G"], f"{ratio:.0%} of H")
    _row(table, "R RegisterTenant", closed["R"], "transaction + outbox row")
    _row(table, "F bare find_one (same store)", closed["F"], "baseline, no gRPC")
    table.note("every server call runs the production interceptors: correlation, JSON access log, errors, token check")
    table.note(f"GetTenant reads {args.tenants:,} tenants at random; tenant cache {args.cache_seconds:g} s (0: off)")
    table.print()
    table = Table("One client, back to back (the cost of one call)", ["call", "throughput", "p50", "p99", "errors", "note"])
    for key, name in (("H", "H health check"), ("G", "G GetTenant"), ("R", "R RegisterTenant"), ("F", "F bare find_one")):
        _row(table, name, single[key])
    table.print()
    table = Table(f"Paced at half the sustainable rate, {args.paced_seconds:g} s",
                  ["call", "offered", "p50", "p99", "errors", "late starts", "in service p50/p99", "service CPU/call"])
    for key, name in (("G", "G GetTenant"), ("R", "R RegisterTenant")):
        result = paced[key]
        summary, inside = result.latency.summary(), handled[key].summary()
        table.add(name, fmt_rate(result.offered_rate), fmt_ms(summary.p50_ms), fmt_ms(summary.p99_ms),
                  f"{result.errors:,}", f"{result.late_starts:,}",
                  f"{fmt_ms(inside.p50_ms)} / {fmt_ms(inside.p99_ms)}" if inside.count else "-",
                  fmt_cpu_per_call(paced_cpu[key], result.completed))
    table.note("in service: each call's duration in the service's own access log (interceptor start to handler end);")
    table.note("the rest is waiting to be run (the service's event loop, grpc's threads), the transport, the client,")
    table.note("and the machine's scheduling of all of them on its shared cores")
    table.note("service CPU/call: the service process's CPU time over the run / calls (background work included);")
    table.note("it varies far less than latency on a shared machine, so compare it between runs")
    for key in ("G", "R"):
        table.note(f"during {key}, {fmt_cores_busy(args.paced_cores[key])}")
    table.print()
    targets = Targets()
    targets.check("GetTenant rate vs health check", f">= {READ_RATIO_TARGET:.0%}", f"{ratio:.0%}",
                  ratio >= READ_RATIO_TARGET if closed["H"].throughput else None)
    get_p99 = paced["G"].latency.summary().p99_ms
    targets.check("GetTenant p99 at half rate", f"<= {P99_TARGET_MS:g} ms", fmt_ms(get_p99),
                  get_p99 <= P99_TARGET_MS if paced["G"].completed else None)
    register_p99 = paced["R"].latency.summary().p99_ms
    targets.check("RegisterTenant p99 at half rate", f"<= {P99_TARGET_MS:g} ms", fmt_ms(register_p99),
                  register_p99 <= P99_TARGET_MS if paced["R"].completed else None)
    targets.print()
    return targets.all_passed


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    passed = asyncio.run(run(args))
    if args.fail_on_miss and not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
