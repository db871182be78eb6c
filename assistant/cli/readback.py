"""A session's transcript as sentences to be read aloud (``duet say``)."""

from __future__ import annotations

from typing import Any

from assistant.journal import export


def spoken_lines(session: dict[str, Any]) -> list[str]:
    lines = [
        f"Session {session['id']}, {export.local_time(session['started_at'], '%A %d %B at %H:%M')}. "
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
