"""Stand-ins for the services parkctl calls: refused calls as a sync stub raises them, and a stub
that records each request and answers from a script. Shared by the parkctl unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from parkos.grpc.client import GRPC_DETAILS_METADATA_KEY


class Refused(grpc.RpcError):
    """A refused call as a sync stub raises it: code, details and trailing metadata."""

    def __init__(self, code: grpc.StatusCode, details: str, violations: list[tuple[str, str]] = ()) -> None:
        self._code, self._details = code, details
        bad_request = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations
        ])
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        status = status_pb2.Status(code=code.value[0], message=details, details=[packed])
        self._trailing = ((GRPC_DETAILS_METADATA_KEY, status.SerializeToString()),)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple:
        return self._trailing


class Service:
    """A stub of any service: each method records its request and returns (or raises) ``answers[method]``."""

    def __init__(self, **answers: Message | grpc.RpcError) -> None:
        self.answers = answers
        self.requests: dict[str, Message] = {}

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def call(request: Message, timeout: float | None = None) -> Message:
            self.requests[method] = request
            answer = self.answers[method]
            if isinstance(answer, grpc.RpcError):
                raise answer
            return answer

        return call
