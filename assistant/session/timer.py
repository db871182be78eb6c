"""The work-phase timer: remaining time, pauses, extensions and milestone announcements.

Pure arithmetic on the times it is given, so milestones can be checked exactly with a
simulated clock. A milestone is a moment defined by the time *left* (``10 minutes left``) or the
halfway point; each is announced once, in order, even if a tick arrives late.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Milestone:
    """A moment worth announcing."""

    key: str
    """Stable name, e.g. ``halfway``, ``left-600``, ``time-up``."""
    remaining: float
    """Seconds left on the timer when it is due (0 for time up)."""
    halfway: bool = False
    """The halfway announcement (its due time moves if minutes are added)."""


@dataclass
class WorkTimer:
    """Counts down a work phase of ``length`` seconds on the times it is given."""

    length: float
    """Total seconds, including any extensions."""
    announce_halfway: bool = True
    announce_remaining: tuple[float, ...] = ()
    """Seconds left that are announced."""
    started_at: float | None = None
    paused_at: float | None = None
    paused_total: float = 0.0
    announced: set[str] = field(default_factory=set)
    """Milestones already announced (restored on resume after a crash)."""
    elapsed_before: float = 0.0
    """Work time already done before this run (a resumed session)."""

    def start(self, now: float) -> None:
        self.started_at = now
        # milestones that would fall before the start (longer than the phase) are never due
        for m in self._milestones():
            if m.remaining >= self.length and not m.halfway:
                self.announced.add(m.key)

    def elapsed(self, now: float) -> float:
        """Seconds worked (pauses excluded)."""
        if self.started_at is None:
            return self.elapsed_before
        end = self.paused_at if self.paused_at is not None else now
        return self.elapsed_before + max(0.0, end - self.started_at - self.paused_total)

    def remaining(self, now: float) -> float:
        return max(0.0, self.length - self.elapsed(now))

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def pause(self, now: float) -> None:
        if self.paused_at is None:
            self.paused_at = now

    def resume(self, now: float) -> None:
        if self.paused_at is not None:
            self.paused_total += now - self.paused_at
            self.paused_at = None

    def extend(self, seconds: float) -> None:
        """Add time; milestones already announced are not repeated."""
        self.length += seconds

    def due(self, now: float) -> list[Milestone]:
        """Milestones reached by ``now`` and not yet announced, marked announced, in order."""
        if self.started_at is None or self.paused:
            return []
        left = self.remaining(now)
        reached = [m for m in self._milestones() if m.key not in self.announced and left <= m.remaining + 1e-9]
        for m in reached:
            self.announced.add(m.key)
        return sorted(reached, key=lambda m: -m.remaining)

    def next_due_at(self, now: float) -> float | None:
        """Clock time of the next milestone, so a runner can sleep (or a simulation jump) to it."""
        if self.started_at is None or self.paused:
            return None
        pending = [m for m in self._milestones() if m.key not in self.announced]
        if not pending:
            return None
        left = self.remaining(now)
        return now + max(0.0, left - max(m.remaining for m in pending))

    def _milestones(self) -> list[Milestone]:
        marks = [Milestone(f"left-{round(s)}", s) for s in self.announce_remaining]
        if self.announce_halfway:
            marks.append(Milestone("halfway", self.length / 2, halfway=True))
        marks.append(Milestone("time-up", 0.0))
        return marks
