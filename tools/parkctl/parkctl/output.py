"""Printing results: rich tables for people, JSON (proto field names) for scripts.

Whatever comes from the park or the user (titles, descriptions, ids, servers' messages, typed
values) reaches rich as ``Text``, never as a markup string: a product titled ``[/] :smile:`` must
print as typed, not crash the table or turn into an emoji. Only parkctl's own words carry styles.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from parkos.grpc import field_violations
from parkos.money import Money
from rich.console import Console
from rich.table import Table
from rich.text import Text

from parkctl.session import Session

# parkctl's own words use no emoji codes, so none is ever replaced: ":abc:" in data stays ":abc:".
console = Console(emoji=False)
errors = Console(stderr=True, emoji=False)

Column = tuple[str, Callable[[Any], object]]


def as_json(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def show_one(session: Session, message: Message, rows: Sequence[tuple[str, object]]) -> None:
    """One object: JSON, or a two-column table of field and value."""
    if session.json:
        print(json.dumps(as_json(message), ensure_ascii=False, indent=2))
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(name, literal(value))
    console.print(table)


def show_many(session: Session, response: Message, items: Iterable[Message], columns: Sequence[Column], title: str) -> None:
    """A list: JSON of the whole response, or one table row per item."""
    if session.json:
        print(json.dumps(as_json(response), ensure_ascii=False, indent=2))
        return
    table = Table(title=Text(title, style="table.title"))
    for index, (header, _) in enumerate(columns):
        # The first column is the id people copy: never wrapped or cut; the rest fold.
        table.add_column(header, no_wrap=index == 0, overflow="fold")
    for item in items:
        table.add_row(*(literal(value(item)) for _, value in columns))
    console.print(table)
    next_token = getattr(getattr(response, "page", None), "next_page_token", "")
    if next_token:
        # One unbroken line whatever the width: a token folded at the edge breaks when copied.
        console.print(Text(f"more: --page-token {next_token}", style="dim"), soft_wrap=True)


def money(message: Message) -> str:
    """``12.34 CNY`` for a park.common.v1.Money."""
    if not message.currency:
        return ""
    return str(Money(message.amount_minor, message.currency))


def when(stamp: Timestamp) -> str:
    if not stamp.seconds and not stamp.nanos:
        return ""
    return stamp.ToDatetime().strftime("%Y-%m-%d %H:%M:%S UTC")


def enum_name(enum: Any, value: int, prefix: str) -> str:
    return enum.Name(value).removeprefix(prefix).lower()


def report_rpc_error(error: grpc.RpcError, target_option: str, correlation_id: str = "", *,
                     flags: Mapping[str, str] | None = None, as_json: bool = False) -> int:
    """Print a refused call readably; returns the exit code (2 for the caller's mistakes, 1 otherwise).

    ``target_option`` is the option that says where the called service is: the hint when it is unreachable.
    ``correlation_id``, the id the command's calls carried, is shown when the failure is not the
    caller's: it finds the call in the services' logs. ``flags`` maps the request's field names to
    the options the command filled them from: the user fixes the option they typed, not a proto field.
    ``as_json`` prints the error as one JSON object instead, for scripts that asked for ``--json``.
    """
    code = error.code()
    caller_mistake = code in _CALLER_MISTAKES
    violations = [(field, flag_of(field, flags or {}), description) for field, description in field_violations(error)]
    if as_json:
        _print_json_error(code, error.details(), violations, "" if caller_mistake else correlation_id)
        return 2 if caller_mistake else 1
    errors.print(_error(f"{code.name}: {error.details()}"))
    for field, flag, description in violations:
        errors.print(Text(f"  - {field} ({flag}): {description}" if flag else f"  - {field}: {description}"))
    if code is grpc.StatusCode.UNAVAILABLE:
        errors.print(Text(f"  is the service running, and is {target_option} right?", style="dim"))
    if code is grpc.StatusCode.UNAUTHENTICATED:
        errors.print(Text("  pass a token with --token or PARKCTL_TOKEN", style="dim"))
    if caller_mistake:
        return 2
    if correlation_id:
        errors.print(Text(f"  correlation id {correlation_id} (the services' log lines of this call carry it)",
                          style="dim"))
    return 1


_CALLER_MISTAKES = {
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED,
}


def flag_of(field: str, flags: Mapping[str, str]) -> str:
    """The option ``field`` (or the field it is part of) was filled from; empty when none.

    Servers name parts of fields (``price.amount_minor``, ``contacts[0].email``): the longest
    name in ``flags`` that the field starts with, cut at a ``.`` or ``[``, is the one.
    """
    cuts = [index for index, char in enumerate(field) if char in ".["]
    for name in (field, *(field[:index] for index in reversed(cuts))):
        if name in flags:
            return flags[name]
    return ""


def _print_json_error(code: grpc.StatusCode, message: str, violations: list[tuple[str, str, str]],
                      correlation_id: str) -> None:
    """One JSON object on stderr, on one line: ``{"error": {"code": ..., "message": ..., ...}}``."""
    found = [{"field": field, **({"flag": flag} if flag else {}), "description": description}
             for field, flag, description in violations]
    body: dict[str, Any] = {"code": code.name, "message": message, "field_violations": found}
    if correlation_id:
        body["correlation_id"] = correlation_id
    # written to the stream itself: rich would fold a long line at the screen's edge
    print(json.dumps({"error": body}, ensure_ascii=False), file=errors.file, flush=True)


def literal(value: object) -> Text:
    """``value`` shown exactly as it is (no markup, no emoji codes); a list as ``a, b``."""
    if isinstance(value, (list, tuple)):
        return Text(", ".join(str(v) for v in value))
    return Text("" if value is None else str(value))


def fail(message: str) -> NoReturn:
    """Refuse the command line: print ``message`` (it may quote what the user typed) and exit 2."""
    errors.print(_error(message))
    sys.exit(2)


def _error(message: str) -> Text:
    return Text.assemble(("error", "bold red"), ": ", message)
