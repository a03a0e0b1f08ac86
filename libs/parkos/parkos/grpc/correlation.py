"""Correlation ids: one per call, from the caller or freshly made.

The id is bound into structlog's context variables, so every log line the handler
writes carries it, and it is sent back as initial metadata so a caller that did not
send one can still quote it. Sending it means initial metadata is already out when the
handler runs: handlers put their own metadata in trailing metadata instead.
``interceptor.ParkServerInterceptor`` does this first on every call.
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


async def correlate(incoming: str | None, context: grpc.aio.ServicerContext) -> str:
    """Bind the caller's id (or a new one) for this call and echo it; returns the id."""
    correlation_id = bind_correlation_id(accepted_correlation_id(incoming))
    await context.send_initial_metadata(((CORRELATION_ID_KEY, correlation_id),))
    return correlation_id
