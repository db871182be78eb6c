"""Session transcripts for people: plain text for the terminal, Markdown, HTML and JSON files."""

from __future__ import annotations

import html
import json
import math
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from assistant.errors import DuetError
from assistant.session.records import shown_status, was_held

FORMATS = ("md", "html", "json", "text")


def write_private(path: Path, text: str, *, force: bool = True, newline: str | None = None) -> None:
    """Exports, reports and calendars are as intimate as the journal: created (or made) 0600.

    With ``force=False`` an existing file is refused (``--force`` replaces it); ``newline=""``
    writes line ends as given (an iCalendar file's CRLF).
    """
    if path.is_dir():  # said before "exists: add --force", which could not help
        raise DuetError(f"{path} is a folder: give a file name in it with -o")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise DuetError(f"{path} exists: add --force to replace it, or choose another file with -o") from None
    os.fchmod(fd, 0o600)  # an existing file keeps its mode otherwise
    with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
        handle.write(text)


def render(session: dict[str, Any], fmt: str) -> str:
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {
        "md": markdown, "html": to_html, "json": to_json, "text": text,
    }
    return renderers[fmt](session)


def to_json(session: dict[str, Any]) -> str:
    return json.dumps(session, indent=2, ensure_ascii=False) + "\n"


def local_time(iso: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO UTC time shown in the machine's local time zone; a date edited into something that
    is not a date is shown as it is."""
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime(fmt)
    except (ValueError, TypeError, OverflowError, OSError):
        return str(iso)


def minutes(seconds: float | None) -> str:
    """'4 min', '2.5 min' under ten minutes, '30 s' under one (a QA pass read "0 min of 0
    planned"; another "2 min of 2 min planned" for 2.5, rounded half to even, where the recap had
    said 2 minutes and 30 seconds)."""
    try:
        if 0 < (seconds or 0) < 59.5:
            return f"{seconds:.0f} s"
        tenths = math.floor((seconds or 0) / 6 + 0.5)  # minutes to a tenth, halves up
        if tenths < 100 and tenths % 10:
            return f"{tenths / 10:.1f} min"
        return f"{math.floor((seconds or 0) / 60 + 0.5)} min"
    except (TypeError, ValueError, OverflowError):
        return "- min"


BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Embeddings, overrides and isolates: in a terminal or viewer they reorder the text after them
(an override can show words the couple never said), so the views drop them; JSON keeps all."""

MD_SPECIAL = re.compile(r"([\\`*_\[\]~|])")
"""What makes Markdown of plain words: emphasis, code, links and tables."""
MD_OPENING = re.compile(r"^(\d{0,9})((?<=\d)[.)](?=\s|$)|(?<!\d)(?:#{1,6}(?=\s|$)|[+-](?=\s|$)|=+\s*$|-{3,}\s*$))")
"""What makes a block of a line's start: a heading, a quote, a list item, a rule ("---" made an
answer vanish into a line, found in a QA pass); escaped at the start of each text. Only what
makes one: "1. " and "# " with their space, a line of "=" or of three "-"; "2026-12-07", "3.14",
"#hashtag" and "-5" are left as written (a re-check)."""


def _md(value: object, line_start: bool = True) -> str:
    """Text for Markdown: HTML and Markdown in it shown, not run (viewers pass raw HTML through,
    and "[x](javascript:...)" would be a link), on one line so it stays in its quote or item.
    ``line_start``: the text opens a line (or a quote), where "- " or "1. " would make a block;
    after a header's label it cannot (a QA pass saw "Next step: \\-")."""
    plain = BIDI_CONTROLS.sub("", " ".join(html.escape(str(value), quote=False).split()))
    plain = MD_SPECIAL.sub(r"\\\1", plain)
    return MD_OPENING.sub(r"\1\\\2", plain) if line_start else plain


def escape_html(value: object) -> str:
    """Text for HTML: escaped, and without bidi controls."""
    return html.escape(BIDI_CONTROLS.sub("", str(value)))


def _shown(value: object, indent: str) -> str:
    """Text for the terminal (``for_terminal``), a line break in it indented as the first line
    is, so an answer of several lines stays under its question."""
    return for_terminal(str(value).replace("\r\n", "\n")).replace("\n", "\n" + indent)


def for_terminal(text: str) -> str:
    """``text`` without bidi controls, and any other control character but a line break written
    as an escape: a hand-edited name holding an escape sequence coloured the terminal (a QA pass)."""
    return escaped(BIDI_CONTROLS.sub("", text), keep="\n")


def escaped(text: str, keep: str = "") -> str:
    """``text`` with every character that is not printable, but those in ``keep``, written as its
    escape ("\\x1b", "\\n")."""
    return "".join(ch if ch.isprintable() or ch in keep else repr(ch)[1:-1] for ch in text)


def header_lines(session: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("Date", local_time(session["started_at"])),
        ("Status", shown_status(session["status"], was_held(session))),
        ("Partners", " and ".join(session["partners"])),
        ("Led by", f"{session['leader']} (vision); {session['logistics']} (logistics)"),
        ("Worked", worked_line(session)),
        ("Next step", session.get("next_step") or "-"),
    ]


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    """An event's detail, or nothing when a hand-edited record holds no dict there."""
    return event["detail"] if isinstance(event.get("detail"), dict) else {}


def worked_line(session: dict[str, Any]) -> str:
    """'30 min of 45 min planned; 5 min added; paused twice': what the work phase was, from the
    index and the events (a QA pass found show leaving out the plan, added time and pauses).
    Time added or a pause put back by "cancel that" is not counted."""
    line = minutes(session.get("worked"))
    if isinstance(session.get("planned_work"), (int, float)) and session["planned_work"]:
        line += f" of {minutes(session['planned_work'])} planned"
    added = pauses = 0.0
    for event in session.get("events", []):
        detail = _detail(event)
        kind, undone = event.get("kind"), detail.get("undone") if event.get("kind") == "cancel" else None
        sign = -1 if undone else 1
        if (kind == "extend" or undone == "extend") and isinstance(detail.get("minutes"), (int, float)):
            added += sign * detail["minutes"]
        elif (kind == "pause" or undone == "pause") and detail.get("phase", "work") == "work":
            pauses += sign  # not a pause at a question (a QA pass found show counting those)
    if added:
        line += f"; {added:g} min added"
    if pauses > 0:
        line += "; paused " + {1: "once", 2: "twice"}.get(int(pauses), f"{int(pauses)} times")
    return line


def _answer(turn: dict[str, Any]) -> str:
    return turn["answer"] if turn["status"] == "answered" else f"({turn['status']})"


CANCELLED = " (cancelled)"
"""After a note that "cancel that" put back: kept in the journal, shown struck out."""


def _html_note(note: dict) -> str:
    text = escape_html(note["text"])
    return f"<s>{text}</s>{CANCELLED}" if note.get("cancelled") else text


def notes_html(session: dict, heading: str) -> list[str]:
    """The session's notes as an HTML list under a ``heading`` title (none without notes)."""
    if not session.get("notes"):
        return []
    return [f"<{heading}>Notes</{heading}><ul>",
            *(f"<li>{n['at'] / 60:.0f} min: {_html_note(n)}</li>" for n in session["notes"]), "</ul>"]


OVERHEARD = "Heard while Duet was asking (it asked again)"
"""The title over words heard over a question (``overheard``)."""


def overheard(session: dict[str, Any]) -> list[tuple[str, str]]:
    """(question, words) for each time a partner was heard over a question, which Duet then asked
    again (the engine's "talked over" events): the rest of an answer it had ended, or the end of
    one begun early. Kept apart from the answers: Duet cannot tell who said them."""
    out = []
    for event in session.get("events", []):
        detail = _detail(event)
        if event.get("kind") == "talked over" and str(detail.get("text", "")).strip():
            asked = f"{detail.get('partner')} - {detail.get('asked')}" if detail.get("partner") else detail.get("asked")
            out.append((str(asked), str(detail["text"])))
    return out


def overheard_html(session: dict[str, Any], heading: str) -> list[str]:
    """``overheard`` as an HTML list under a ``heading`` title (none when there is none)."""
    if not (heard := overheard(session)):
        return []
    return [f"<{heading}>{OVERHEARD}</{heading}><ul>",
            *(f"<li><i>{escape_html(asked)}</i>: {escape_html(words)}</li>" for asked, words in heard), "</ul>"]


def _sections(session: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    turns = session.get("turns", [])
    return [
        ("Check-in", [t for t in turns if t["phase"] == "checkin"]),
        ("Debrief", [t for t in turns if t["phase"] == "debrief"]),
    ]


def text(session: dict[str, Any]) -> str:
    out = [f"Session {session['id']}"]
    out += [f"  {key + ':':<10} {_shown(value, ' ' * 13)}" for key, value in header_lines(session)]
    for title, turns in _sections(session):
        if turns:
            out.append(f"\n{title}")
            out += [f"  {t['partner']} - {t['question']}\n      {_shown(_answer(t), '      ')}" for t in turns]
    if session.get("notes"):
        out.append("\nNotes")
        out += [f"  [{n['at'] / 60:.0f} min] {_shown(n['text'], '    ')}{CANCELLED * bool(n.get('cancelled'))}"
                for n in session["notes"]]
    if heard := overheard(session):
        out.append(f"\n{OVERHEARD}")
        out += [f"  {_shown(asked, '    ')}\n      {_shown(words, '      ')}" for asked, words in heard]
    return "\n".join(out) + "\n"


def markdown(session: dict[str, Any]) -> str:
    out = [f"# Duet session {session['id']}: {_md(local_time(session['started_at']))}", ""]
    out += [f"- **{key}:** {_md(value, line_start=False)}" for key, value in header_lines(session)]
    for title, turns in _sections(session):
        if turns:
            out += ["", f"## {title}", ""]
            for t in turns:
                out += [f"**{_md(t['partner'])}**: *{_md(t['question'])}*", "", f"> {_md(_answer(t))}", ""]
    if session.get("notes"):
        out += ["", "## Notes", ""]
        out += [f"- {n['at'] / 60:.0f} min: " + (f"~~{_md(n['text'])}~~{CANCELLED}" if n.get("cancelled") else _md(n["text"]))
                for n in session["notes"]]
    if heard := overheard(session):
        out += ["", f"## {OVERHEARD}", ""]
        out += [f"- *{_md(asked)}*: {_md(words)}" for asked, words in heard]
    return "\n".join(out).rstrip() + "\n"


def to_html(session: dict[str, Any]) -> str:
    e = escape_html
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Duet session {session['id']}</title>",
        "<style>body{font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5}"
        "blockquote{margin:.2em 0 1em 1em;padding-left:.8em;border-left:3px solid #ccc}</style>",
        "</head><body>",
        f"<h1>Duet session {session['id']}: {e(local_time(session['started_at']))}</h1><ul>",
    ]
    out += [f"<li><b>{e(key)}:</b> {e(str(value))}</li>" for key, value in header_lines(session)]
    out.append("</ul>")
    for title, turns in _sections(session):
        if turns:
            out.append(f"<h2>{title}</h2>")
            for t in turns:
                out.append(f"<p><b>{e(t['partner'])}</b>: <i>{e(t['question'])}</i></p>")
                out.append(f"<blockquote>{e(_answer(t))}</blockquote>")
    out += notes_html(session, "h2") + overheard_html(session, "h2")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
