"""Park OS gRPC layer: server bootstrap, interceptors, principal context, client channels.

Importing this package starts nothing; see ``server.GrpcServer`` and ``client.open_channel``.
Its names are imported from their modules on first use (PEP 562): a client such as parkctl
needs only ``client``, and the server side (settings, logging, TLS files, metrics) takes
over a second to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from parkos.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from parkos.grpc.client import (
        client_credentials,
        field_violations,
        open_channel,
        open_sync_channel,
        rich_status,
    )
    from parkos.grpc.health import ReadinessCheck
    from parkos.grpc.metadata import AUTHORIZATION_KEY, CORRELATION_ID_KEY
    from parkos.grpc.principal_context import current_principal, optional_principal, use_principal
    from parkos.grpc.server import GrpcServer, ServiceRegistration, start_grpc_server
    from parkos.grpc.shutdown import install_signal_handlers
    from parkos.grpc.status_mapping import code_for_exception, status_for_exception
    from parkos.grpc.tls import transport_options

_MODULE_OF = {
    "client_credentials": "client", "field_violations": "client", "open_channel": "client",
    "open_sync_channel": "client", "rich_status": "client",
    "ReadinessCheck": "health",
    "AUTHORIZATION_KEY": "metadata", "CORRELATION_ID_KEY": "metadata",
    "current_principal": "principal_context", "optional_principal": "principal_context",
    "use_principal": "principal_context",
    "GrpcServer": "server", "ServiceRegistration": "server", "start_grpc_server": "server",
    "install_signal_handlers": "shutdown",
    "code_for_exception": "status_mapping", "status_for_exception": "status_mapping",
    "transport_options": "tls",
}

__all__ = sorted(_MODULE_OF)
__getattr__ = lazy_exports(__name__, _MODULE_OF)
