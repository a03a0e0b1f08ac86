"""Park OS gRPC layer: server bootstrap, interceptors, principal context, client channels.

Importing this package starts nothing; see ``server.GrpcServer`` and ``client.open_channel``.
"""

from parkos.grpc.client import field_violations, open_channel, open_sync_channel, rich_status
from parkos.grpc.health import ReadinessCheck
from parkos.grpc.metadata import AUTHORIZATION_KEY, CORRELATION_ID_KEY
from parkos.grpc.principal_context import current_principal, optional_principal, use_principal
from parkos.grpc.server import GrpcServer, ServiceRegistration, start_grpc_server
from parkos.grpc.shutdown import install_signal_handlers
from parkos.grpc.status_mapping import code_for_exception, status_for_exception
from parkos.grpc.tls import client_credentials, transport_options

__all__ = [
    "AUTHORIZATION_KEY",
    "CORRELATION_ID_KEY",
    "GrpcServer",
    "ReadinessCheck",
    "ServiceRegistration",
    "client_credentials",
    "code_for_exception",
    "current_principal",
    "field_violations",
    "install_signal_handlers",
    "open_channel",
    "open_sync_channel",
    "optional_principal",
    "rich_status",
    "start_grpc_server",
    "status_for_exception",
    "transport_options",
    "use_principal",
]
