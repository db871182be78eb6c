"""What a session records and the journal keeps: one dataclass per kind of record, plain enough
to be JSON. They live with the session core, so the journal depends on them and not the reverse."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class TurnStatus(str, Enum):
    ANSWERED = "answered"
    SKIPPED = "skipped"
    NO_ANSWER = "no answer"


class SessionStatus(str, Enum):
    IN_PROGRESS = "in progress"
    DONE = "done"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    """Never written: an in-progress session whose process is gone (see ``journal``)."""


@dataclass(frozen=True)
class Turn:
    """One question and what came of it."""

    seq: int
    """Position in the session's question plan (0-based); resuming continues after the last."""
    phase: str
    """``checkin`` or ``debrief``."""
    partner: str
    """Who was asked, or ``both``."""
    question: str
    """The question as configured (without the name Duet puts in front)."""
    answer: str
    """The transcribed answer; empty when skipped or unanswered."""
    status: TurnStatus
    asked_at: str
    """ISO time the question was asked."""
    answered_at: str
    """ISO time the answer ended (or the question was given up)."""
    confidence: float | None = None
    """Recognizer confidence 0..1 where the engine gives one."""
    words: list[dict[str, Any]] = field(default_factory=list)
    """Word timings (text, start, end, confidence) where the engine gives them."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass(frozen=True)
class Note:
    """A note taken during the work phase."""

    text: str
    at: float
    """Seconds into the work phase."""
    time: str
    """ISO time it was taken."""


@dataclass(frozen=True)
class SessionEvent:
    """Something that happened to the session: pause, resume, extend, milestone, phase change."""

    kind: str
    time: str
    """ISO time."""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Roles:
    """Who does what this session."""

    leader: str
    """Leads the vision; asked first."""
    logistics: str


@dataclass
class ResumePoint:
    """Where an interrupted session stopped (read from the journal)."""

    phase: str
    """``checkin``, ``work``, ``debrief`` or ``recap``."""
    next_seq: int
    """Index in the question plan of the first question not yet answered."""
    work: dict[str, Any] = field(default_factory=dict)
    """The work timer's last saved state: ``length``, ``elapsed``, ``announced``."""
    notes: int = 0


@dataclass(frozen=True)
class Rhythm:
    """What the couple's schedule says about this session, phrased before it starts (the engine
    never reads the schedule or the calendar)."""

    planned: str | None = None
    """Said at check-in when this is a planned session ("This is your planned Saturday session.")."""
    next_planned: str | None = None
    """Said at the end of the recap ("See you Saturday at 10.")."""


@dataclass(frozen=True)
class Cheer:
    """What this session celebrates: one earned sentence each, worked out from the journal
    before the session starts (the engine only says them)."""

    greeting: str | None = None
    """Said in the greeting: about the sessions before this one."""
    recap: str | None = None
    """Said in the recap: about the sessions so far, this one included (it is done by then)."""
