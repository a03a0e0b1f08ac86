"""The server's TLS certificate, key and client CA as files that are renewed while it runs.

cert-manager (or any CA tooling) renews a certificate days before it expires and rewrites the
mounted Secret; a server that read its files once at start would go on presenting the old
certificate until it expired and every handshake failed. gRPC asks a fetcher for the
certificate configuration on every new connection (``grpc.dynamic_ssl_server_credentials``);
``CertificateFiles.fetch`` answers it: the files (a few kilobytes) are read at most once a
second, compared with what was read last (a timestamp can miss a rewrite within the same
clock tick), and a changed set is served only once it is whole (the key is the certificate's, the CA parses). A half-written or mismatched set is
logged and the last good one goes on being served, so a bad renewal never takes the port down;
connections already open keep the certificate they were made with.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from prometheus_client import Gauge

from parkos.logging import get_logger

log = get_logger(__name__)

# Labelled, so that a process without TLS exports no sample at all (rather than a 0 that an
# "expires within N days" alert would read as long expired).
_NOT_AFTER = Gauge(
    "parkos_grpc_tls_certificate_expiry_timestamp_seconds",
    "When the certificate the gRPC server presents to new connections expires (Unix time)",
    ["certificate"],
)
_LOOK_EVERY_SECONDS = 1.0


class CertificateError(ValueError):
    """The certificate files do not make a usable set (unreadable, unparsable, or a key of another certificate)."""


@dataclass(frozen=True)
class CertificateSet:
    """One consistent read of the files."""

    key: bytes
    chain: bytes
    client_ca: bytes | None
    not_after: datetime.datetime

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        """What gRPC serves new handshakes with."""
        return grpc.ssl_server_certificate_configuration([(self.key, self.chain)], root_certificates=self.client_ca)


def read_certificate_set(cert_file: Path, key_file: Path, ca_file: Path | None) -> CertificateSet:
    """Read and check the files; raises CertificateError naming what is wrong."""
    try:
        chain, key = cert_file.read_bytes(), key_file.read_bytes()
        client_ca = ca_file.read_bytes() if ca_file is not None else None
    except OSError as error:
        raise CertificateError(f"cannot read a certificate file: {error}") from None
    return certificate_set(chain, key, client_ca)


def certificate_set(chain: bytes, key: bytes, client_ca: bytes | None) -> CertificateSet:
    """Check PEM contents as read from the files; raises CertificateError naming what is wrong."""
    try:
        leaf = x509.load_pem_x509_certificates(chain)[0]
        private_key = serialization.load_pem_private_key(key, password=None)
        if client_ca is not None:
            x509.load_pem_x509_certificates(client_ca)
    except (ValueError, TypeError) as error:  # TypeError: an encrypted key (no password is given)
        raise CertificateError(f"a certificate file does not parse: {error}") from None
    if _public_bytes(leaf.public_key()) != _public_bytes(private_key.public_key()):
        raise CertificateError("the key file is not the key of the certificate")
    return CertificateSet(key=key, chain=chain, client_ca=client_ca, not_after=leaf.not_valid_after_utc)


def _public_bytes(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class CertificateFiles:
    """The certificate set gRPC serves, read again when its files change (see module doc)."""

    def __init__(self, cert_file: Path, key_file: Path, ca_file: Path | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._files = (cert_file, key_file, ca_file)
        self._clock = clock
        self._looked_at = clock()
        self.current = read_certificate_set(cert_file, key_file, ca_file)  # a bad set at start stops the start
        self._contents = (self.current.chain, self.current.key, self.current.client_ca)
        _NOT_AFTER.labels("server").set(self.current.not_after.timestamp())
        self.reloads = 0

    @property
    def requires_client_certificate(self) -> bool:
        """Mutual TLS: a CA file was given."""
        return self._files[2] is not None

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """gRPC's fetcher: the new configuration when the files changed into a good set, else None."""
        now = self._clock()
        if now - self._looked_at < _LOOK_EVERY_SECONDS:
            return None
        self._looked_at = now
        contents = tuple(_contents(path) for path in self._files)
        if contents == self._contents:
            return None
        self._contents = contents  # a bad set is reported once, and checked again when the files change again
        try:
            renewed = self._checked(*contents)
        except CertificateError as error:
            log.warning("tls certificate files changed but are not usable; still serving the previous certificate",
                        error=str(error), expires=self.current.not_after.isoformat())
            return None
        self.current, self.reloads = renewed, self.reloads + 1
        _NOT_AFTER.labels("server").set(renewed.not_after.timestamp())
        log.info("tls certificate reloaded", expires=renewed.not_after.isoformat())
        return renewed.configuration()

    def _checked(self, chain: bytes | None, key: bytes | None, client_ca: bytes | None) -> CertificateSet:
        if chain is None or key is None or (client_ca is None and self.requires_client_certificate):
            raise CertificateError("a certificate file cannot be read")
        return certificate_set(chain, key, client_ca)


def _contents(path: Path | None) -> bytes | None:
    # reading follows the symlinks a Kubernetes Secret volume swaps atomically on update
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None
