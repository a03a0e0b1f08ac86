"""What a Park OS server tells operators, and how it stops.

Health is SERVING only after start, when not switched off, and while every readiness
check passes; reflection lists the services (so ``grpcurl`` works); a stop returns
promptly even with a readiness check in flight; SIGTERM triggers the stop once.
"""

from __future__ import annotations

import asyncio
import os
import signal

import grpc
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from parkos.auth import TokenVerifier, generate_signing_key
from parkos.grpc import GrpcServer, install_signal_handlers
from tests.integration.grpc_server.probe_service import SERVICE, Park, health


async def test_health_is_serving_after_start_and_follows_set_serving(park: Park) -> None:
    assert await health(park.target) == health_pb2.HealthCheckResponse.SERVING
    assert await health(park.target, SERVICE) == health_pb2.HealthCheckResponse.SERVING
    await park.server.set_serving(False)
    try:
        assert await health(park.target) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert await health(park.target, SERVICE) == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        await park.server.set_serving(True)
    assert await health(park.target) == health_pb2.HealthCheckResponse.SERVING


async def test_readiness_checks_decide_serving() -> None:
    ready = {"mongo": False}

    async def mongo_reachable() -> bool:
        return ready["mongo"]

    async def broken() -> bool:
        raise ConnectionError("down")

    _, public_pem = generate_signing_key()
    server = GrpcServer(verifier=TokenVerifier(public_pem), readiness_checks={"mongo": mongo_reachable},
                        readiness_interval=60)
    await server.start()
    try:
        target = f"127.0.0.1:{server.port}"
        assert await health(target) == health_pb2.HealthCheckResponse.NOT_SERVING
        ready["mongo"] = True
        assert await server.refresh_health() is True
        assert await health(target) == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(grace=0)

    failing = GrpcServer(verifier=TokenVerifier(public_pem), readiness_checks={"broken": broken})
    await failing.start()
    try:
        assert await health(f"127.0.0.1:{failing.port}") == health_pb2.HealthCheckResponse.NOT_SERVING
        # not ready, yet alive: the liveness probe must not restart a replica waiting for its store
        assert await health(f"127.0.0.1:{failing.port}", "parkos.liveness") == health_pb2.HealthCheckResponse.SERVING
    finally:
        await failing.stop(grace=0)


async def test_reflection_lists_the_services(park: Park) -> None:
    async with grpc.aio.insecure_channel(park.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        replies = [reply async for reply in stub.ServerReflectionInfo(iter([request]))]
    names = {service.name for service in replies[0].list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names


async def test_stop_returns_promptly_with_a_readiness_check_in_flight() -> None:
    checking, cancelled = asyncio.Event(), asyncio.Event()
    calls: list[int] = []

    async def slow_mongo() -> bool:
        calls.append(1)
        if len(calls) == 1:  # the check start() runs itself
            return True
        checking.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return True

    _, public_pem = generate_signing_key()
    server = GrpcServer(verifier=TokenVerifier(public_pem), readiness_checks={"mongo": slow_mongo},
                        readiness_interval=0.01, readiness_timeout=30)
    await server.start()
    await asyncio.wait_for(checking.wait(), timeout=5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(server.stop(grace=0), timeout=10)
    assert loop.time() - started < 2.0
    assert cancelled.is_set()


async def test_signal_triggers_the_stop_callback_once() -> None:
    loop = asyncio.get_running_loop()
    stopped: list[str] = []
    done = asyncio.Event()

    async def stop() -> None:
        stopped.append("stop")
        done.set()

    # SIGUSR1 stands in for SIGTERM so the test runner's own handlers stay untouched.
    install_signal_handlers(loop, stop, signals=(signal.SIGUSR1,))
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.wait_for(done.wait(), timeout=5)
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.sleep(0.05)
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
    assert stopped == ["stop"]
