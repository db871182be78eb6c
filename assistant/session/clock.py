"""Clocks: where the session engine gets the time from.

The engine never reads the time itself; it is handed ``now`` in every event. A ``Clock`` is what
the runner asks, so a live session uses the monotonic clock (no jumps when the wall clock is
changed) and a rehearsal or test uses a ``SimulatedClock`` that a script moves forward at will.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a clock that never goes backwards."""

    def wall(self) -> datetime:
        """The calendar time that belongs to ``now()``, for the journal."""


class MonotonicClock:
    """The real clock: monotonic seconds, wall time for humans."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(timezone.utc)


class SimulatedClock:
    """A clock that only moves when told to: a 45-minute work phase runs in milliseconds."""

    def __init__(self, start_wall: datetime | None = None) -> None:
        self._now = 0.0
        self._start_wall = start_wall or datetime.now(timezone.utc)

    def now(self) -> float:
        return self._now

    def wall(self) -> datetime:
        from datetime import timedelta

        return self._start_wall + timedelta(seconds=self._now)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now += seconds

    def advance_to(self, t: float) -> None:
        """Move to time t (no-op if already past it)."""
        self._now = max(self._now, t)
