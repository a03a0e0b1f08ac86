"""gRPC metadata keys Park OS uses, and small helpers to read them."""

from __future__ import annotations

from collections.abc import Iterable

AUTHORIZATION_KEY = "authorization"
CORRELATION_ID_KEY = "x-correlation-id"


def correlation_and_authorization(
    metadata: Iterable[tuple[str, str | bytes]] | None,
) -> tuple[str | None, list[str]]:
    """In one pass (it runs on every call): the first correlation id, and every authorization value."""
    correlation_id: str | None = None
    authorization: list[str] = []
    for name, value in metadata or ():
        name = name.lower()
        if name == AUTHORIZATION_KEY:
            authorization.append(_text(value))
        elif name == CORRELATION_ID_KEY and correlation_id is None:
            correlation_id = _text(value)
    return correlation_id, authorization


def service_of(method: str) -> str:
    """The full service name of a full method name: ``/pkg.Svc/Call`` -> ``pkg.Svc``."""
    return method.lstrip("/").split("/", 1)[0]


def normalize_method(method: str) -> str:
    """A full method name with exactly one leading slash, as the server reports it."""
    return "/" + method.lstrip("/")


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
