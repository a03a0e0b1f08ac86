"""A renewed certificate is served to new connections; a bad renewal is not, and changes nothing."""
from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from parkos.grpc.certificate_files import CertificateError, CertificateFiles, read_certificate_set
from tests.support.certificates import Issuer, new_ca


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ca() -> Issuer:
    return new_ca("park-os test CA")


@pytest.fixture
def folder(tmp_path: Path, ca: Issuer) -> Path:
    ca.sign("tenants").write(tmp_path / "tls.crt", tmp_path / "tls.key")
    (tmp_path / "ca.crt").write_bytes(ca.pem.cert)
    return tmp_path


def _files(folder: Path, clock: Clock) -> CertificateFiles:
    return CertificateFiles(folder / "tls.crt", folder / "tls.key", folder / "ca.crt", clock=clock)


def test_unchanged_files_are_not_read_again(folder: Path) -> None:
    clock = Clock()
    files = _files(folder, clock)
    clock.now += 5
    assert files.fetch() is None
    assert files.reloads == 0


def test_a_renewed_certificate_is_served_once_the_files_change(folder: Path, ca: Issuer) -> None:
    clock = Clock()
    files = _files(folder, clock)
    first = files.current
    ca.sign("tenants", valid_for=datetime.timedelta(days=90)).write(folder / "tls.crt", folder / "tls.key")
    clock.now += 5
    assert files.fetch() is not None
    assert files.reloads == 1
    assert files.current.not_after > first.not_after + datetime.timedelta(days=80)
    clock.now += 5
    assert files.fetch() is None  # served already


def test_the_files_are_looked_at_at_most_once_a_second(folder: Path, ca: Issuer) -> None:
    clock = Clock()
    files = _files(folder, clock)
    ca.sign("tenants").write(folder / "tls.crt", folder / "tls.key")
    clock.now += 0.5
    assert files.fetch() is None
    clock.now += 0.6
    assert files.fetch() is not None


def test_a_key_of_another_certificate_keeps_the_previous_set(folder: Path, ca: Issuer) -> None:
    clock = Clock()
    files = _files(folder, clock)
    served = files.current
    (folder / "tls.key").write_bytes(ca.sign("someone else").key)  # the certificate is not rewritten
    clock.now += 5
    assert files.fetch() is None
    assert files.current is served and files.reloads == 0
    ca.sign("tenants").write(folder / "tls.crt", folder / "tls.key")  # the renewal completes
    clock.now += 5
    assert files.fetch() is not None
    assert files.reloads == 1


@pytest.mark.parametrize("damage", ["truncated certificate", "missing key", "garbage CA"])
def test_an_unusable_renewal_is_refused_and_served_no_one(folder: Path, damage: str) -> None:
    clock = Clock()
    files = _files(folder, clock)
    served = files.current
    if damage == "truncated certificate":
        (folder / "tls.crt").write_bytes((folder / "tls.crt").read_bytes()[:100])
    elif damage == "missing key":
        (folder / "tls.key").unlink()
    else:
        (folder / "ca.crt").write_bytes(b"not a certificate")
    clock.now += 5
    assert files.fetch() is None
    assert files.current is served


def test_a_bad_set_at_start_stops_the_start(folder: Path, ca: Issuer) -> None:
    (folder / "tls.key").write_bytes(ca.sign("someone else").key)
    with pytest.raises(CertificateError, match="is not the key of the certificate"):
        read_certificate_set(folder / "tls.crt", folder / "tls.key", None)
    with pytest.raises(CertificateError):
        CertificateFiles(folder / "tls.crt", folder / "tls.key")


def test_the_expiry_gauge_has_a_sample_only_once_a_certificate_is_served(folder: Path) -> None:
    from prometheus_client import REGISTRY

    name = "parkos_grpc_tls_certificate_expiry_timestamp_seconds"
    assert REGISTRY.get_sample_value(name) is None  # never an unlabelled 0 for a plaintext process
    files = CertificateFiles(folder / "tls.crt", folder / "tls.key")
    assert REGISTRY.get_sample_value(name, {"certificate": "server"}) == files.current.not_after.timestamp()


def test_an_encrypted_key_is_a_certificate_error(folder: Path, ca: Issuer) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((folder / "tls.key").read_bytes(), password=None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"secret"))
    (folder / "tls.key").write_bytes(encrypted)
    with pytest.raises(CertificateError, match="does not parse"):
        read_certificate_set(folder / "tls.crt", folder / "tls.key", None)
