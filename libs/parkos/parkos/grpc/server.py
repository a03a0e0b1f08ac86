"""The Park OS gRPC server: interceptors, health, reflection, graceful stop.

Usage (a service's main.py)::

    server = GrpcServer(verifier=verifier, port=config.grpc_port,
                        readiness_checks={"mongo": ping_mongo})
    server.add_servicer(tenants_pb2_grpc.add_TenantsServicer_to_server, servicer,
                        "park.tenants.v1.Tenants")
    await server.start()
    ...
    await server.stop(grace=10)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from parkos.auth.scopes import full_method_scopes
from parkos.grpc.health import HealthReporter, ReadinessCheck
from parkos.grpc.interceptor import ParkServerInterceptor
from parkos.grpc.shutdown import install_signal_handlers
from parkos.logging import get_logger

if TYPE_CHECKING:
    from parkos.auth import TokenVerifier

__all__ = ["GrpcServer", "ServiceRegistration", "install_signal_handlers", "start_grpc_server"]


@dataclass(frozen=True)
class ServiceRegistration:
    """One service to serve: how to add it to a server, its full name (health, reflection), and the
    scope each of its methods needs from a scoped token (``parkos.auth.scopes``; by method name)."""

    service_name: str
    register: Callable[[grpc.aio.Server], None]
    method_scopes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def servicer(cls, add_fn: Callable[[Any, grpc.aio.Server], None], servicer: Any, service_name: str,
                 method_scopes: Mapping[str, str] | None = None) -> ServiceRegistration:
        """From a generated ``add_XServicer_to_server`` function and a servicer instance."""
        return cls(service_name, lambda server: add_fn(servicer, server), dict(method_scopes or {}))

    @classmethod
    def generic(cls, handler: grpc.GenericRpcHandler, service_name: str,
                method_scopes: Mapping[str, str] | None = None) -> ServiceRegistration:
        """From a ``grpc.method_handlers_generic_handler`` (services without generated code)."""
        return cls(service_name, lambda server: server.add_generic_rpc_handlers((handler,)), dict(method_scopes or {}))


class GrpcServer:
    """A grpc.aio server with Park OS interceptors, health (with readiness) and reflection."""

    def __init__(
        self,
        *,
        verifier: TokenVerifier,
        host: str = "127.0.0.1",
        port: int = 0,
        public_methods: Iterable[str] = (),
        readiness_checks: Mapping[str, ReadinessCheck] | None = None,
        readiness_interval: float = 5.0,
        readiness_timeout: float = 2.0,
        credentials: grpc.ServerCredentials | None = None,
        health_port: int | None = None,
        options: Sequence[tuple[str, Any]] = (),
        logger: Any | None = None,
    ) -> None:
        self._given_logger = logger  # None: each interceptor logs under its own module name
        self._logger = logger if logger is not None else get_logger(__name__)
        self._verifier = verifier
        self._address = f"{host}:{port}"
        self._public_methods = tuple(public_methods)
        self._credentials = credentials
        self._options = tuple(options)
        self._registrations: list[ServiceRegistration] = []
        self._health = HealthReporter(
            readiness_checks or {}, interval=readiness_interval, timeout=readiness_timeout, logger=self._logger
        )
        self._server: grpc.aio.Server | None = None
        self._stopping = False
        self._port = 0
        # a plaintext port with health only, for probes that cannot speak TLS (parkos.grpc.tls)
        self._health_address = None if health_port is None else f"{host}:{health_port}"
        self._health_server: grpc.aio.Server | None = None
        self._health_port = 0

    @property
    def port(self) -> int:
        """The bound port (the real one when constructed with port 0); 0 before ``start``."""
        return self._port

    @property
    def health_port(self) -> int:
        """The bound plaintext health port; 0 before ``start`` or without one."""
        return self._health_port

    def add(self, registration: ServiceRegistration) -> None:
        """Serve ``registration``; only before ``start``."""
        if self._server is not None:
            raise RuntimeError("services must be added before the server starts")
        self._registrations.append(registration)
        self._health.track(registration.service_name)

    def add_servicer(self, add_fn: Callable[[Any, grpc.aio.Server], None], servicer: Any, service_name: str,
                     method_scopes: Mapping[str, str] | None = None) -> None:
        """Serve a generated servicer: ``add_servicer(add_XServicer_to_server, impl, "pkg.X", {"Call": scope})``."""
        self.add(ServiceRegistration.servicer(add_fn, servicer, service_name, method_scopes))

    def add_generic_handler(self, handler: grpc.GenericRpcHandler, service_name: str,
                            method_scopes: Mapping[str, str] | None = None) -> None:
        """Serve a generic handler (``grpc.method_handlers_generic_handler``)."""
        self.add(ServiceRegistration.generic(handler, service_name, method_scopes))

    async def start(self) -> int:
        """Build, bind and start the server, then report health; returns the bound port."""
        if self._server is not None:
            raise RuntimeError("server already started")
        await self._health.prepare()
        server = self._build()
        self._port = self._bind(server)
        await server.start()
        self._server = server
        if self._health_address is not None:
            try:
                self._health_server, self._health_port = await self._start_health_only(self._health_address)
            except BaseException:
                # no half-started server: the caller sees the error with nothing left listening
                await server.stop(0)
                self._server = None
                raise
        await self._health.open()
        self._logger.info("grpc_server_started", address=self._address, port=self._port)
        return self._port

    async def set_serving(self, serving: bool) -> None:
        """Force health NOT_SERVING (False), or follow the readiness checks again (True)."""
        await self._health.set_serving(serving)

    async def refresh_health(self) -> bool:
        """Run the readiness checks now instead of at the next interval; returns whether serving."""
        return await self._health.refresh()

    async def stop(self, grace: float | None = 5.0) -> None:
        """Report NOT_SERVING, then let in-flight calls finish for up to ``grace`` seconds."""
        if self._server is None or self._stopping:
            return
        self._stopping = True
        await self._health.close()
        await self._server.stop(grace)
        if self._health_server is not None:
            await self._health_server.stop(0)
        self._logger.info("grpc_server_stopped", port=self._port)

    async def wait_for_termination(self) -> None:
        """Block until the server has stopped."""
        if self._server is not None:
            await self._server.wait_for_termination()

    def _build(self) -> grpc.aio.Server:
        # One interceptor runs correlation, access log, error mapping and authentication in
        # that order (see interceptor.py): auth failures are mapped to a status and then
        # logged with that status.
        method_scopes: dict[str, str] = {}
        for registration in self._registrations:
            method_scopes.update(full_method_scopes(registration.service_name, registration.method_scopes))
        interceptor = ParkServerInterceptor(
            self._verifier, public_methods=self._public_methods, method_scopes=method_scopes,
            logger=self._given_logger,
        )
        server = grpc.aio.server(interceptors=(interceptor,), options=self._options)
        for registration in self._registrations:
            registration.register(server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health.servicer, server)
        names = [r.service_name for r in self._registrations]
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
        return server

    async def _start_health_only(self, address: str) -> tuple[grpc.aio.Server, int]:
        # the same health servicer as the main port, so both report the same status
        # no SO_REUSEPORT (gRPC's default): sharing a port with the main server would send some
        # of its clients to this health-only one; a taken port must fail instead
        server = grpc.aio.server(options=(*self._options, ("grpc.so_reuseport", 0)))
        health_pb2_grpc.add_HealthServicer_to_server(self._health.servicer, server)
        port = server.add_insecure_port(address)
        if port == 0:
            raise RuntimeError(f"could not bind the gRPC health port {address}")
        await server.start()
        return server, port

    def _bind(self, server: grpc.aio.Server) -> int:
        if self._credentials is None:
            port = server.add_insecure_port(self._address)
        else:
            port = server.add_secure_port(self._address, self._credentials)
        if port == 0:  # older grpcio reports a failed bind as port 0 instead of raising
            raise RuntimeError(f"could not bind gRPC server to {self._address}")
        return port


async def start_grpc_server(
    registrations: Iterable[ServiceRegistration],
    *,
    verifier: TokenVerifier,
    host: str = "127.0.0.1",
    port: int = 0,
    public_methods: Iterable[str] = (),
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
    **options: Any,
) -> GrpcServer:
    """Build a ``GrpcServer``, add ``registrations`` and start it; see ``GrpcServer`` for options."""
    server = GrpcServer(
        verifier=verifier,
        host=host,
        port=port,
        public_methods=public_methods,
        readiness_checks=readiness_checks,
        **options,
    )
    for registration in registrations:
        server.add(registration)
    await server.start()
    return server
