"""Structured logs: one configuration for the park's code and its libraries.

Every line carries ``service``, an ISO-8601 UTC ``timestamp``, ``level``,
``logger`` and whatever is bound in structlog's contextvars (``correlation_id``,
``event_id``, ``tenant_id``), so one request can be followed across services.
Production writes JSON lines; development writes readable console lines.
Standard-library loggers (aiokafka, pymongo, grpc) go through the same
renderer, but only from WARNING up, as their INFO chatter drowns the park's own.
"""

from __future__ import annotations

import logging
import sys
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
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(level_number),
        logger_factory=structlog.stdlib.LoggerFactory(ignore_frame_names=["parkos.logging"]),
        # Not cached, so a later configure_logging() reaches loggers made at import.
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=_render_processors(environment),
        )
    )
    handler.addFilter(_ForeignRecordFilter(max(level_number, _FOREIGN_MIN_LEVEL)))
    setattr(handler, _HANDLER_MARK, True)
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


def _render_processors(environment: str) -> list[Processor]:
    remove_meta = structlog.stdlib.ProcessorFormatter.remove_processors_meta
    if environment == "production":
        return [
            remove_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ]
    return [remove_meta, structlog.dev.ConsoleRenderer(colors=False)]


def _install_root_handler(handler: logging.Handler, level_number: int) -> None:
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level_number)


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
