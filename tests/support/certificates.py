"""Certificates made for a test: a CA, and server or client certificates it signs (EC P-256, PEM)."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Pem:
    """A private key and its certificate, PEM-encoded."""

    key: bytes
    cert: bytes

    def write(self, cert_file: Path, key_file: Path) -> None:
        """Write the certificate and key where a server reads them."""
        cert_file.write_bytes(self.cert)
        key_file.write_bytes(self.key)


@dataclass(frozen=True)
class Issuer:
    """A CA that signs certificates."""

    pem: Pem
    name: x509.Name
    key: ec.EllipticCurvePrivateKey

    def sign(self, name: str, *, valid_for: datetime.timedelta = datetime.timedelta(hours=1)) -> Pem:
        """A certificate for ``name`` (also its DNS name "localhost", as a Service's would carry)."""
        pem, _, _ = _issue(name, (self.name, self.key), valid_for=valid_for)
        return pem


def new_ca(name: str) -> Issuer:
    """A self-signed CA."""
    pem, subject, key = _issue(name, None, ca=True, valid_for=datetime.timedelta(hours=1))
    return Issuer(pem, subject, key)


def _issue(name: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, *, valid_for: datetime.timedelta,
           ca: bool = False) -> tuple[Pem, x509.Name, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer if issuer is not None else (subject, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + valid_for)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        # a name, as a Service's certificate carries; not the loopback address
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    pem = Pem(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        cert.public_bytes(serialization.Encoding.PEM),
    )
    return pem, subject, key
