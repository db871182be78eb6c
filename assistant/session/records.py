"""What a session records and the journal keeps: one dataclass per kind of record, plain enough
to be JSON. They live with the session core, so the journal depends on them and not the reverse."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import Enum
from collections.abc import Mapping
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


SHOWN_STATUS = {SessionStatus.ABORTED.value: "stopped"}
"""A status as the couple read it (the sessions table, ``duet show``, exports): a session they
stopped is "stopped", as the README says, not "aborted" (a QA pass found the word harsh in a
couple's journal). ``--json`` and the journal keep the stored word."""


def shown_status(status: str, held: bool = True) -> str:
    """``status`` as the couple read it; a false start (not ``held``, see ``was_held``) is
    "stopped in the check-in": it led to no turn, and a QA pass counted it among the leaders."""
    return SHOWN_STATUS.get(status, status) + ("" if held else " in the check-in")


def was_held(summary: Mapping[str, Any]) -> bool:
    """Whether a session (its index entry) was held, not a false start: one the couple stopped
    before any work was done, in its check-in, was not. It took no turn to lead, so rotation
    starts from the last one held (found by a QA pass: stopped 10 s in, it did), and it keeps no
    planned time, uses none of a next step's chances and has no tone or minutes in the patterns
    (found by a QA pass: a 2 s false start kept the plan over the session held a minute later,
    and its one answer was the lowest tone of ten weeks). An interrupted one (a crash) was held:
    its index holds no work time until it closes, and it may yet be resumed."""
    return summary.get("status") != SessionStatus.ABORTED.value or bool(summary.get("worked"))


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


PHASES = ("checkin", "work", "debrief", "recap")
MAX_WORK_SECONDS = 7 * 24 * 3600.0
"""Longest work timer a resumed session may carry (a day's phase plus any extensions)."""


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
    script_lines: dict[str, int] = field(default_factory=dict)
    """Lines of each rehearsal script (by digest) already heard: resuming with the same script
    carries on after them instead of replaying it."""
    next_step: str | None = None
    """The next step the couple already gave (the last answer to a question to both): the
    recap and the session's summary name it though it was said before the interruption."""

    @classmethod
    def from_records(cls, progress: dict[str, Any], seqs: list[Any], notes: int,
                     script_lines: dict[str, int] | None = None, next_step: str | None = None) -> "ResumePoint":
        """Check what the journal holds (it may have been edited by hand) and build the point.

        Raises ``ValueError`` naming the first value that makes no sense.
        """
        if not all(_count(s) for s in seqs):
            raise ValueError("a turn without a valid 'seq'")
        phase = progress.get("phase", "checkin")
        if phase not in PHASES:
            raise ValueError(f"a progress 'phase' that is not one of {', '.join(PHASES)}")
        saved_seq = progress.get("next_seq", 0)
        if not _count(saved_seq):
            raise ValueError("a progress 'next_seq' that is not a count")
        work = progress.get("work", {})
        if not isinstance(work, dict):
            raise ValueError("a progress 'work' that is not a mapping")
        length, elapsed = work.get("length", 1.0), work.get("elapsed", 0.0)
        if not (_number(length) and 0 < length <= MAX_WORK_SECONDS):
            raise ValueError("a work 'length' that is not a number of seconds up to a week")
        if not (_number(elapsed) and 0 <= elapsed <= MAX_WORK_SECONDS):
            raise ValueError("a work 'elapsed' that is not a number of seconds up to a week")
        announced = work.get("announced", [])
        if not (isinstance(announced, list) and all(isinstance(a, str) for a in announced)):
            raise ValueError("a work 'announced' that is not a list of names")
        next_seq = max(seqs, default=-1) + 1
        return cls(phase=phase, next_seq=max(next_seq, saved_seq), work=work, notes=notes,
                   script_lines=dict(script_lines or {}), next_step=next_step)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100_000


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def clean_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """An index entry as it can be shown, whatever was edited into it by hand (without the
    insights' ``digest``: it is for ``duet insights``, not for people)."""
    out = dict(doc)
    out.pop("digest", None)
    out["partners"] = [_text(p) for p in doc.get("partners", [])]
    for key in ("started_at", "status", "leader", "logistics"):
        out[key] = _text(doc.get(key))
    for key in ("ended_at", "next_step"):
        out[key] = None if doc.get(key) is None else _text(doc.get(key))
    for key in ("worked", "planned_work"):
        out[key] = doc.get(key) if _number(doc.get(key)) else None
    return out


def clean_turn(turn: dict[str, Any]) -> dict[str, Any]:
    """A turn as it can be shown: a lost ``seq`` becomes None, every text field a string."""
    out = dict(turn)
    out["seq"] = turn.get("seq") if _count(turn.get("seq")) else None
    for key in ("phase", "partner", "question", "answer", "asked_at", "answered_at"):
        out[key] = _text(turn.get(key))
    out["status"] = _text(turn.get("status")) or TurnStatus.ANSWERED.value
    return out


def mark_cancelled(notes: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The notes, each marked ``cancelled`` when "cancel that" put it back: the journal keeps
    the note and the cancel event (with the note's text), so a reader must pair them. A QA pass
    found a cancelled note shown, exported and searched as any other. Each cancel takes the
    latest note with its text taken before it."""
    out = [dict(n, cancelled=False) for n in notes]
    for event in events:
        detail = event.get("detail") if isinstance(event.get("detail"), dict) else event
        if event.get("kind") != "cancel" or detail.get("undone") != "note":
            continue
        before = [n for n in out if not n["cancelled"] and n.get("text") == detail.get("text")
                  and str(n.get("time", "")) <= str(event.get("time", ""))]
        if before:
            max(before, key=lambda n: str(n.get("time", "")))["cancelled"] = True
    return out


def clean_note(note: dict[str, Any]) -> dict[str, Any]:
    """A note as it can be shown: its time into the work phase a number, its text a string."""
    out = dict(note)
    out["text"] = _text(note.get("text"))
    out["at"] = note.get("at") if _number(note.get("at")) else 0.0
    out["time"] = _text(note.get("time"))
    return out


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
