"""What the simulator did lately, for the live view."""
from __future__ import annotations

from collections import deque
from datetime import datetime


class ActivityLog:
    """The last few actions, newest first, plus counters by kind."""

    def __init__(self, keep: int = 10) -> None:
        self._lines: deque[str] = deque(maxlen=keep)
        self.counts: dict[str, int] = {}

    def record(self, kind: str, text: str) -> None:
        """Remember one action of `kind` (e.g. "registered")."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self._lines.appendleft(f"{datetime.now():%H:%M:%S}  {text}")

    def lines(self) -> list[str]:
        """Newest first."""
        return list(self._lines)
