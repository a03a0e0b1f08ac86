"""The worker's event-loop heartbeat: a timer beats every second, /metrics reports the silence.

/metrics answers from its own thread, so answering proves nothing about the loop the agents run
on; ``parkos_analytics_worker_loop_silence_seconds`` does: it grows when the loop is blocked or
hung (alert on, say, more than 10 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class LoopHeartbeat:
    """When the event loop last ran a beat (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        """Called by a timer on the loop."""
        self._last = self._clock()

    def silence_seconds(self) -> float:
        """Seconds since the last beat (safe to read from another thread)."""
        return max(0.0, self._clock() - self._last)
