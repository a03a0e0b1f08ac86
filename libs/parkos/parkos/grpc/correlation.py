"""Correlation ids: one per call, from the caller or freshly made.

The id is bound into structlog's context variables, so every log line the handler
writes carries it, and it is sent back so a caller that did not send one can still
quote it: in the trailing metadata of every call, success or failure (grpc sends it with
the status, at no extra cost), and on calls with a response stream also as initial
metadata, at once, since a stream's trailers come only at its end. Sending initial
metadata on its own is a separate operation in grpc's core: on a unary call it cost
about a fifth of the server's time per call (GetTenant, bench/tenants.py), so unary
calls do without it. ``interceptor.ParkServerInterceptor`` does this first on every call;
handlers that set trailing metadata of their own must keep this entry.
"""

from __future__ import annotations

import re

import grpc

from parkos.grpc.metadata import CORRELATION_ID_KEY
from parkos.logging import bind_correlation_id

# Caller-supplied ids end up in every log line and Kafka header: accept only short,
# printable tokens, so a hostile client cannot inject log content.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def accepted_correlation_id(value: str | None) -> str | None:
    """``value`` if it is a well-formed correlation id, else None (a new one will be made)."""
    if value is not None and _ACCEPTABLE_ID.fullmatch(value):
        return value
    return None


def echoed(correlation_id: str) -> tuple[tuple[str, str], ...]:
    """The metadata that carries ``correlation_id`` back to the caller."""
    return ((CORRELATION_ID_KEY, correlation_id),)


async def correlate(incoming: str | None, context: grpc.aio.ServicerContext, *, streaming: bool) -> str:
    """Bind the caller's id (or a new one) for this call and echo it; returns the id.

    ``streaming``: the call answers with a stream, so the id also goes out at once as
    initial metadata.
    """
    correlation_id = bind_correlation_id(accepted_correlation_id(incoming))
    context.set_trailing_metadata(echoed(correlation_id))
    if streaming:
        await context.send_initial_metadata(echoed(correlation_id))
    return correlation_id
