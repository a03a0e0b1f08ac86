"""Run an RpcMethodHandler's behaviour through one "runner", for all four arities.

Park OS serves every call the same way: do something before the handler, observe how it
ended, maybe translate the failure (``interceptor.ParkServerInterceptor``). That is
expressed once as a runner, ``run(behaviour, request_or_iterator, context)``, which awaits
``behaviour(request, context)`` somewhere inside, and applied to unary-unary,
unary-stream, stream-unary and stream-stream handlers here.

Streaming responses are re-expressed with the reader/writer API (``context.write``)
inside one coroutine, instead of wrapping async generators in async generators: the
whole call then runs in a single frame of the RPC's task, so context variables set
before the handler are reset in the same context, and a client cancellation arrives
as one ``CancelledError`` through the runner.

A wrapped handler depends only on the handler and the runner, so the interceptor builds
it once per method and reuses it for every call.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

Behaviour = Callable[[Any, grpc.aio.ServicerContext], Any]
# run(behaviour, request_or_request_iterator, context) -> what behaviour returned
Runner = Callable[[Behaviour, Any, grpc.aio.ServicerContext], Awaitable[Any]]


def wrap_handler(handler: grpc.RpcMethodHandler | None, run: Runner) -> grpc.RpcMethodHandler | None:
    """Return a handler whose behaviour runs through ``run``; None stays None (unknown method)."""
    if handler is None:
        return None
    serde = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(_stream_response(handler.stream_stream, run), **serde)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(_unary_response(handler.stream_unary, run), **serde)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(_stream_response(handler.unary_stream, run), **serde)
    return grpc.unary_unary_rpc_method_handler(_unary_response(handler.unary_unary, run), **serde)


def _unary_response(behaviour: Behaviour, run: Runner) -> Behaviour:
    _require_async(behaviour)

    async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await run(behaviour, request, context)

    return wrapped


def _stream_response(behaviour: Behaviour, run: Runner) -> Behaviour:
    _require_async(behaviour)

    async def drained(request: Any, context: grpc.aio.ServicerContext) -> None:
        await _drain(behaviour, request, context)

    async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> None:
        await run(drained, request, context)

    return wrapped


async def _drain(behaviour: Behaviour, request: Any, context: grpc.aio.ServicerContext) -> None:
    """Run a streaming behaviour to completion, writing what an async generator yields."""
    if inspect.iscoroutinefunction(behaviour):
        await behaviour(request, context)  # reader/writer style: it writes by itself
        return
    responses = behaviour(request, context)
    try:
        async for response in responses:
            await context.write(response)
    finally:
        await responses.aclose()


def _require_async(behaviour: Behaviour) -> None:
    # grpc.aio runs plain functions in a thread pool with a sync context whose abort()
    # differs and without our context variables; Park OS servicers are async only, and
    # failing loudly here beats silently skipping authentication for a sync handler.
    if not (inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour)):
        raise TypeError(f"parkos.grpc needs async handlers; {behaviour!r} is synchronous")
