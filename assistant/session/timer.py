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

    left_seen: float | None = None
    """Time left at the last look (``start``, ``due``): a milestone is due when the time left
    passes it, so one that lay beyond the phase's start ("10 minutes left" in a 10-minute phase)
    is due once added time puts it ahead again, and never at once."""

    def start(self, now: float) -> None:
        self.started_at = now
        self.left_seen = self.remaining(now)

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
        """Add time (or take it back). A warning of time left that added time puts ahead again
        comes again ("2 minutes left", then ten minutes added: a QA pass heard time up with no
        warning), as does time up; the halfway point is not repeated. One the change moves past
        is not due: only the clock makes a milestone due."""
        self.length += seconds
        if self.left_seen is not None:
            self.left_seen += seconds
        if seconds > 0:
            ahead = {m.key for m in self._milestones() if not m.halfway and
                     (self.left_seen is None or m.remaining < self.left_seen - 1e-9)}
            self.announced -= ahead  # time up among them: time added after time up

    def due(self, now: float) -> list[Milestone]:
        """Milestones reached by ``now`` and not yet announced, marked announced, in order."""
        if self.started_at is None or self.paused:
            return []
        left, seen = self.remaining(now), self.left_seen
        self.left_seen = left
        reached = [m for m in self._pending(seen) if left <= m.remaining + 1e-9]
        for m in reached:
            self.announced.add(m.key)
        return sorted(reached, key=lambda m: -m.remaining)

    def next_due_at(self, now: float) -> float | None:
        """Clock time of the next milestone, so a runner can sleep (or a simulation jump) to it."""
        if self.started_at is None or self.paused:
            return None
        pending = self._pending(self.left_seen)  # one passed since the last look is due now
        if not pending:
            return None
        return now + max(0.0, self.remaining(now) - max(m.remaining for m in pending))

    def _pending(self, left: float | None) -> list[Milestone]:
        """Milestones not yet announced that the clock reaches from ``left`` seconds left (at
        the last look): those below it, the halfway point (which moves with added time) and
        time up."""
        return [m for m in self._milestones() if m.key not in self.announced
                and (m.halfway or m.remaining == 0 or left is None or m.remaining < left - 1e-9)]

    def _milestones(self) -> list[Milestone]:
        marks = [Milestone(f"left-{round(s)}", s) for s in self.announce_remaining]
        if self.announce_halfway:
            marks.append(Milestone("halfway", self.length / 2, halfway=True))
        marks.append(Milestone("time-up", 0.0))
        return marks
