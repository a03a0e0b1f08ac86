"""Spans of time typed on the command line: ``90s``, ``30m``, ``12h``, ``7d``."""

from __future__ import annotations

import re
from datetime import timedelta

from parkctl.output import fail

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration_arg(text: str, name: str) -> timedelta:
    """``12h`` -> 12 hours; anything else is a usage error naming ``name``, the option it was given as."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        fail(f"{name} {text!r}: use e.g. 90s, 30m, 12h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
