"""Transport security of a service's gRPC server, from its ``PARKOS_TLS_*`` settings.

- no certificate: plaintext (loopback, or a mesh that encrypts for the service);
- ``PARKOS_TLS_CERT_FILE`` + ``PARKOS_TLS_KEY_FILE``: TLS;
- and ``PARKOS_TLS_CA_FILE``: mutual TLS, every client must present a certificate that CA signed.

Kubelet's gRPC probes cannot speak TLS: ``PARKOS_GRPC_HEALTH_PORT`` opens a second, plaintext
port that serves only grpc.health.v1 (the Helm chart sets it when TLS is on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc

from parkos.config import ParkSettings


def server_credentials(
    cert_file: Path | None, key_file: Path | None, ca_file: Path | None = None
) -> grpc.ServerCredentials | None:
    """TLS credentials from PEM files, requiring client certificates when ``ca_file`` is given;
    None (plaintext) without a certificate."""
    if cert_file is None and key_file is None:
        if ca_file is not None:
            raise ValueError("a CA for client certificates needs the server's certificate and key")
        return None
    if cert_file is None or key_file is None:
        raise ValueError("TLS needs both the certificate and its key")
    root = ca_file.read_bytes() if ca_file is not None else None
    return grpc.ssl_server_credentials(
        [(key_file.read_bytes(), cert_file.read_bytes())], root_certificates=root, require_client_auth=root is not None
    )


def client_credentials(
    ca_file: Path | None, cert_file: Path | None = None, key_file: Path | None = None
) -> grpc.ChannelCredentials | None:
    """Channel credentials for a TLS server (``ca_file``: its CA, else the system's roots), with this
    client's certificate for mutual TLS; None (plaintext) when no file is given."""
    if ca_file is None and cert_file is None and key_file is None:
        return None
    if (cert_file is None) != (key_file is None):
        raise ValueError("a client certificate needs its key, and a key its certificate")
    return grpc.ssl_channel_credentials(
        root_certificates=ca_file.read_bytes() if ca_file is not None else None,
        private_key=key_file.read_bytes() if key_file is not None else None,
        certificate_chain=cert_file.read_bytes() if cert_file is not None else None,
    )


def transport_options(settings: ParkSettings) -> dict[str, Any]:
    """The ``GrpcServer`` keyword arguments that ``settings`` ask for: credentials and health port."""
    return {
        "credentials": server_credentials(settings.tls_cert_file, settings.tls_key_file, settings.tls_ca_file),
        "health_port": settings.grpc_health_port,
    }
