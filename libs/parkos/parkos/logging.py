"""Structured logs: one configuration for the park's code and its libraries.

Every line carries ``service``, an ISO-8601 UTC ``timestamp``, ``level``,
``logger`` and whatever is bound in structlog's contextvars (``correlation_id``,
``event_id``, ``tenant_id``), so one request can be followed across services.
Production writes JSON lines; development writes readable console lines.
Standard-library loggers (aiokafka, pymongo, grpc) go through the same
renderer, but only from WARNING up, as their INFO chatter drowns the park's own.

The park's own lines (an access-log line per RPC among them) are rendered by structlog
and written straight to the stream, one write per line under the handler's lock: routing
them through the standard library as well (a ``LogRecord``, a caller lookup that walks
the stack, a copy for the formatter) cost about three times the rendering itself.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from parkos.ids import new_correlation_id

_CORRELATION_ID = "correlation_id"
_FOREIGN_MIN_LEVEL = logging.WARNING
_HANDLER_MARK = "_parkos_handler"


def configure_logging(
    service: str,
    *,
    environment: str = "development",
    level: str = "INFO",
    stream: TextIO | None = None,
) -> None:
    """Set up structlog and stdlib logging for ``service``; safe to call again.

    ``stream`` defaults to stderr, keeping stdout free for a CLI's own output.
    """
    level_number = _level_number(level)
    shared = _shared_processors(service)
    render = _render_processors(environment)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=render))
    handler.addFilter(_ForeignRecordFilter(max(level_number, _FOREIGN_MIN_LEVEL)))
    setattr(handler, _HANDLER_MARK, True)
    structlog.configure(
        # The park's lines: the same processors and renderer as foreign records, minus
        # the formatter's bookkeeping, then one write to the handler's stream.
        processors=[*shared, *[p for p in render if p is not _REMOVE_META]],
        wrapper_class=structlog.make_filtering_bound_logger(level_number),
        logger_factory=_LineLoggerFactory(_LineSink(handler)),
        # Not cached, so a later configure_logging() reaches loggers made at import.
        cache_logger_on_first_use=False,
    )
    _install_root_handler(handler, level_number)


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; ``name`` defaults to the calling module's name."""
    return structlog.get_logger(name) if name is not None else structlog.get_logger()


def bind_correlation_id(value: str | None) -> str:
    """Bind ``value`` (or a new id when None/empty) as this context's correlation id."""
    correlation_id = value or new_correlation_id()
    structlog.contextvars.bind_contextvars(**{_CORRELATION_ID: correlation_id})
    return correlation_id


def current_correlation_id() -> str | None:
    """The correlation id bound in this context, if any."""
    value = structlog.contextvars.get_contextvars().get(_CORRELATION_ID)
    return value if isinstance(value, str) else None


def _level_number(level: str) -> int:
    number = logging.getLevelNamesMapping().get(level.strip().upper())
    if number is None:
        raise ValueError(f"unknown log level {level!r}")
    return number


def _shared_processors(service: str) -> list[Processor]:
    # Runs for park and foreign records alike, before rendering.
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _ServiceAdder(service),
        structlog.processors.StackInfoRenderer(),
    ]


_REMOVE_META = structlog.stdlib.ProcessorFormatter.remove_processors_meta


def _render_processors(environment: str) -> list[Processor]:
    if environment == "production":
        return [
            _REMOVE_META,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_json_line),
        ]
    return [_REMOVE_META, structlog.dev.ConsoleRenderer(colors=False)]


def _install_root_handler(handler: logging.Handler, level_number: int) -> None:
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level_number)


def _json_fallback(value: Any) -> Any:
    # as structlog's JSONRenderer: an object's own __structlog__ form, else its repr
    try:
        return value.__structlog__()
    except AttributeError:
        return repr(value)


# One encoder for every line: json.dumps(..., default=...) builds a new one per call.
_JSON_ENCODER = json.JSONEncoder(default=_json_fallback)


def _json_line(event_dict: EventDict, **_ignored: Any) -> str:
    return _JSON_ENCODER.encode(event_dict)


class _LineSink:
    """Writes rendered lines to a handler's stream, under the handler's lock (as it does)."""

    def __init__(self, handler: logging.StreamHandler) -> None:  # type: ignore[type-arg]
        self._handler = handler

    def write(self, line: str) -> None:
        handler = self._handler
        with handler.lock:  # type: ignore[union-attr]
            try:
                stream = handler.stream
                stream.write(line + handler.terminator)
                stream.flush()
            except RecursionError:
                raise
            except Exception:
                # As logging.Handler.emit: a broken stream must not break the caller.
                if logging.raiseExceptions:
                    traceback.print_exc(file=sys.stderr)


class _LineLogger:
    """structlog's final logger: a name (for the ``logger`` field) and one write per rendered line."""

    __slots__ = ("name", "_sink")

    def __init__(self, name: str, sink: _LineSink) -> None:
        self.name = name
        self._sink = sink

    def msg(self, message: str) -> None:
        self._sink.write(message)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class _LineLoggerFactory:
    """Loggers named as asked, or after the calling module (as the stdlib factory named them)."""

    def __init__(self, sink: _LineSink) -> None:
        self._sink = sink

    def __call__(self, *args: Any) -> _LineLogger:
        if args and args[0] is not None:
            return _LineLogger(str(args[0]), self._sink)
        return _LineLogger(_calling_module(), self._sink)


def _calling_module() -> str:
    """The module name of the first frame outside structlog and this module."""
    frame = sys._getframe(1)
    while frame.f_back is not None:
        name = frame.f_globals.get("__name__") or "?"
        if not (name.startswith("structlog") or name == __name__):
            return name
        frame = frame.f_back
    return frame.f_globals.get("__name__") or "?"


class _ServiceAdder:
    """Stamps every event with the service's name."""

    def __init__(self, service: str) -> None:
        self._service = service

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        event_dict["service"] = self._service
        return event_dict


class _ForeignRecordFilter(logging.Filter):
    """Lets park records through at any level, library records from ``min_level``."""

    def __init__(self, min_level: int) -> None:
        super().__init__()
        self._min_level = min_level

    def filter(self, record: logging.LogRecord) -> bool:
        from_structlog = isinstance(record.msg, dict) and hasattr(record, "_logger")
        return from_structlog or record.levelno >= self._min_level
