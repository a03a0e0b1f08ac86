"""Transport security of a service's gRPC server, from its ``PARKOS_TLS_*`` settings.

- no certificate: plaintext (loopback, or a mesh that encrypts for the service);
- ``PARKOS_TLS_CERT_FILE`` + ``PARKOS_TLS_KEY_FILE``: TLS;
- and ``PARKOS_TLS_CA_FILE``: mutual TLS, every client must present a certificate that CA signed.

Kubelet's gRPC probes cannot speak TLS: ``PARKOS_GRPC_HEALTH_PORT`` opens a second, plaintext
port that serves only grpc.health.v1 (the Helm chart sets it when TLS is on).

The files are read again when they change (a renewed certificate reaches new connections
within a second or so, no restart): ``certificate_files.py``.
"""

from __future__ import annotations

from typing import Any

import grpc

from parkos.config import ParkSettings
from parkos.grpc.certificate_files import CertificateFiles


def _server_credentials(settings: ParkSettings) -> grpc.ServerCredentials | None:
    # the settings checked the combination when they loaded (ParkSettings._whole_tls_configuration)
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    files = CertificateFiles(settings.tls_cert_file, settings.tls_key_file, settings.tls_ca_file)
    return reloading_server_credentials(files)


def reloading_server_credentials(files: CertificateFiles) -> grpc.ServerCredentials:
    """Server credentials that serve ``files`` as they are now and as they are renewed."""
    return grpc.dynamic_ssl_server_credentials(
        files.current.configuration(), files.fetch,
        require_client_authentication=files.requires_client_certificate,
    )



def transport_options(settings: ParkSettings) -> dict[str, Any]:
    """The ``GrpcServer`` keyword arguments that ``settings`` ask for: credentials and health port."""
    return {
        "credentials": _server_credentials(settings),
        "health_port": settings.grpc_health_port,
    }
