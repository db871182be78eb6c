"""A session's transcript as sentences to be read aloud (``duet say``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assistant.journal import export
from assistant.session import phrasing
from assistant.session.phrasing import clock_time


def spoken_lines(session: dict[str, Any]) -> list[str]:
    lines = [
        f"Session {session['id']}, {phrasing.sentence(_held_on(session['started_at']))} "
        f"{session['leader']} led the vision and {session['logistics']} handled logistics."
    ]
    phase = None
    for turn in session.get("turns", []):
        if turn["phase"] != phase:
            phase = turn["phase"]
            lines.append("The check-in." if phase == "checkin" else "The debrief.")
        who = "Both of you" if turn["partner"] == "both" else turn["partner"]
        if turn["status"] == "answered":
            lines.append(f"{turn['question']} {who} said: {turn['answer']}")
        else:
            lines.append(f"{turn['question']} {who}: {turn['status']}.")
    for note in (n for n in session.get("notes", []) if not n.get("cancelled")):
        lines.append(f"A note, {round(note['at'] / 60)} minutes in: {note['text']}")
    if session.get("next_step"):
        lines.append(f"Your next step: {session['next_step']}.")
    return lines


def _held_on(iso: str) -> str:
    """'Tuesday 1 December at 10 a.m.', local time: "01" and "10:00" were read out "zero one"
    and "ten zero zero" (a QA pass). A date edited into something else is read as it is."""
    try:
        when = datetime.fromisoformat(iso).astimezone()
    except (ValueError, TypeError, OverflowError, OSError):
        return export.local_time(iso)
    return f"{when:%A} {when.day} {when:%B} at {clock_time(when)}"
