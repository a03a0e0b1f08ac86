"""Ed25519 keys that sign and verify Park OS tokens, as PEM bytes."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def generate_signing_key() -> tuple[bytes, bytes]:
    """A new key pair: ``(private PEM, public PEM)``; only the issuer keeps the private one."""
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    return private_pem, _public_pem(private_key.public_key())


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``pem``; ValueError for any other kind of key."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("token signing key must be an Ed25519 private key")
    return key


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """The Ed25519 public key in ``pem``; ValueError for any other kind of key."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("token verification key must be an Ed25519 public key")
    return key


def public_key_pem_of(private_pem: bytes) -> bytes:
    """The public PEM matching ``private_pem`` (lets the issuer verify its own tokens)."""
    return _public_pem(load_private_key(private_pem).public_key())


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
