"""Rehearsals: a whole session from a script of what the couple says, on a simulated clock.

A script is a YAML list, in order:
  - say: "calm and a bit tired"            # answers the next question (or is "skip", "pause"...)
  - silence: true                          # nobody answers the next question (its timeout passes)
  - {at: "12:00", say: "how much time is left"}   # spoken 12 minutes into the work phase

Timed lines belong to the work phase: a command, or ordinary talk that must not trigger one; the
line after "take a note" is the note, timed (within the answer timeout) or not.
Untimed lines answer questions; during the work phase they wait for the debrief (the work
phase then runs to its end), except while paused, where they are heard at once ("resume").
When the script runs out, remaining questions go unanswered.

``at`` is a real time into the work phase: "MM:SS" (seconds below 60), "H:MM:SS", or a number of
seconds, at most a day. Resuming a session with the script it was rehearsed with carries on after
the lines already heard (each record in the journal carries how many were).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    field_validator,
    model_validator,
)

from assistant.errors import DuetError, check_loaded, load_yaml, yaml_problem
from assistant.session.clock import SimulatedClock
from assistant.session.events import (
    Event,
    Heard,
    ListenForAnswer,
    ListenForCommands,
    Silence,
    Tick,
)

log = logging.getLogger(__name__)

SPEAKING_RATE = 2.5
"""Words per second of a rehearsed answer: how far the simulated clock moves while it is said."""
MAX_AT = 24 * 3600.0
"""A timed line is at most a day into the work phase (the longest work phase)."""
TIME = re.compile(r"^(?:(\d{1,2}):)?(\d{1,4}):(\d{1,2}(?:\.\d+)?)$|^(\d{1,5}(?:\.\d+)?)$")


class ScriptLine(BaseModel):
    """One line of a rehearsal script."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    say: str | None = None
    at: float | None = None
    """Seconds into the work phase (written "MM:SS" or "H:MM:SS")."""
    silence: bool = False

    @field_validator("at", mode="before")
    @classmethod
    def _parse_at(cls, value: object) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"{value!r} is not a time: write MM:SS, e.g. 12:30")
        seconds = float(value) if isinstance(value, (int, float)) else parse_offset(value)
        if not (math.isfinite(seconds) and 0 <= seconds <= MAX_AT):
            raise ValueError(f"{value!r} is not a time from 0:00 to 24:00:00 into the work phase: write MM:SS, e.g. 12:30")
        return seconds

    @field_validator("say", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        """What was said, as written: scripts are read with every plain scalar as text
        (``load_yaml(as_written=True)``: "say: yes" to "Stop the session?" was refused as "Input
        should be a valid string"); a number given from Python is its digits."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("silence", mode="before")
    @classmethod
    def _only_true(cls, value: object) -> object:
        """``silence: true`` (or false), not another word: a QA pass's ``silence: "no"`` was
        refused as a line with neither, and ``silence: "yes"`` taken as true."""
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise ValueError("write 'silence: true' for a question nobody answers, or leave the key out")
        return value

    @field_validator("say")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        """What a partner says holds no control characters (a line break aside): a QA pass's NUL
        went through to show, search and the HTML export, where config names refuse them."""
        odd = next((ch for ch in value or "" if unicodedata.category(ch) == "Cc" and ch not in "\n\t"), None)
        if odd is not None:
            raise ValueError(f"'say' holds the control character U+{ord(odd):04X}: remove it")
        if value is not None and not value.strip():  # printed as "Sam: " and taken as no answer
            raise ValueError("'say' is empty: write what is said, or 'silence: true' for no answer")
        return value

    @model_validator(mode="after")
    def _one_thing(self) -> "ScriptLine":
        if self.at is not None and self.say is None:
            raise ValueError("a timed line ('at') needs 'say: TEXT'")
        if (self.say is None) == (not self.silence):
            raise ValueError("a line has either 'say: TEXT' or 'silence: true'")
        return self


def parse_offset(text: str) -> float:
    """'12:00' -> 720.0, '1:02:03' -> 3723.0, '90' -> 90.0; '99:99', '-1:00', 'nan' are refused."""
    match = TIME.match(text.strip())
    bad = f"{text!r} is not a time: write MM:SS, e.g. 12:30"
    if match is None:
        raise ValueError(bad)
    hours, minutes, seconds, plain = match.groups()
    if plain is not None:
        return float(plain)
    if float(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        raise ValueError(bad)
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)


def script_digest(path: Path) -> str:
    """What identified a whole script's content in the marks of older journals (``lines_heard``)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def prefix_digests(lines: Sequence[ScriptLine]) -> list[str]:
    """What identifies a script's first lines, for each count of them (0 .. all): each record of
    a rehearsal is marked with the digest of the lines heard so far (``lines_heard``). Chained,
    each from the one before and its line, so all of them cost one pass over the script."""
    digests = [hashlib.sha256(b"").hexdigest()[:16]]
    for line in lines:
        text = digests[-1] + json.dumps(line.model_dump(), sort_keys=True)
        digests.append(hashlib.sha256(text.encode()).hexdigest()[:16])
    return digests


def lines_heard(lines: Sequence[ScriptLine], marks: dict[str, int], path: Path) -> int:
    """How many of ``lines`` (the script at ``path``) an interrupted session already heard, from
    its records' marks (digest -> lines heard): a script that begins with the lines heard goes on
    after them, so one that ran out while paused can be given its next lines at its end, as
    Duet's hint says. (Marked by the whole file's digest, a script with a line added started
    from its first line again, and a QA pass found its check-in answers stored as the debrief's.)
    Any other script starts from its first line."""
    if (whole := marks.get(script_digest(path))) is not None:
        return whole
    digests = prefix_digests(lines)
    return max((count for digest, count in marks.items() if 0 <= count <= len(lines) and digests[count] == digest),
               default=0)


def load_script(path: Path) -> list[ScriptLine]:
    """Read and check a rehearsal script; one line of error naming the bad entry."""
    try:
        data = load_yaml(Path(path).read_text(encoding="utf-8"), as_written=True)
    except FileNotFoundError:
        raise DuetError(f"rehearsal script {path} not found: pass a YAML list of lines such as '- say: hello'") from None
    except IsADirectoryError:
        raise DuetError(f"{path} is a folder: pass a rehearsal script file") from None
    except yaml.YAMLError as err:
        raise DuetError(f"rehearsal script {path}: {yaml_problem(err)}; fix the YAML syntax there") from None
    except UnicodeDecodeError as err:
        line = err.object[:err.start].count(b"\n") + 1
        raise DuetError(f"rehearsal script {path} is not UTF-8 text (line {line}, byte 0x{err.object[err.start]:02x}): "
                        "save it as UTF-8") from None
    except RecursionError:
        raise DuetError(f"rehearsal script {path} is nested too deeply: a script is a flat list of lines") from None
    check_loaded(data, f"rehearsal script {path}")
    if not isinstance(data, list):
        raise DuetError(f"{path}: a rehearsal script is a YAML list of lines such as '- say: hello'")
    lines = []
    for number, entry in enumerate(data, start=1):
        try:
            lines.append(ScriptLine.model_validate(entry if isinstance(entry, dict) else {"say": entry}))
        except ValidationError as err:
            raise DuetError(f"{path}: entry {number}{_problem(err)}") from None
    _in_time_order(lines, path)
    return lines


def _problem(err: ValidationError) -> str:
    """The first problem of a script line, as the end of its one line: which key, what to do."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        near = difflib.get_close_matches(where.lower(), list(ScriptLine.model_fields), n=1, cutoff=0.5)
        hint = f"did you mean '{near[0]}'?" if near else "a line has 'say', 'at' or 'silence'"
        return f": unknown key '{where}' ({hint})"
    if first["type"] == "string_type":
        return f" ({where}): write the words said as text"
    message = first["msg"].removeprefix("Value error, ")
    return f"{f' ({where})' if where else ''}: {message}"


def _in_time_order(lines: list[ScriptLine], path: Path) -> None:
    """Refuse a timed line set earlier than one before it: lines are heard in order, so it would
    be said late, at the earlier line's time (a QA pass's "3:00" after "5:00" came at 5:00)."""
    latest: tuple[int, float] | None = None
    for number, line in enumerate(lines, start=1):
        if line.at is None:
            continue
        if latest is not None and line.at < latest[1]:
            raise DuetError(f"{path}: entry {number} (at): {mm_ss(line.at)} comes before entry {latest[0]}'s "
                            f"{mm_ss(latest[1])}: put the timed lines in time order")
        latest = (number, line.at)


def mm_ss(seconds: float) -> str:
    """A time into the work phase as a script writes it: 750 s is "12:30"."""
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


@dataclass
class Transcript:
    """What was said during a rehearsal, in order."""

    lines: list[dict[str, object]]

    def add(self, who: str, text: str, at: float) -> None:
        self.lines.append({"who": who, "text": text, "t": round(at, 3)})


class ScriptedPort:
    """A port whose ears are a script and whose mouth is a callback (print, or a list)."""

    def __init__(
        self,
        lines: list[ScriptLine],
        clock: SimulatedClock,
        *,
        echo: Callable[[str, str], None] | None = None,
        first_line: int = 0,
        worked: float = 0.0,
        on_line: Callable[[int], None] | None = None,
    ) -> None:
        self.lines = list(lines)[first_line:]
        self.clock = clock
        self.echo = echo or (lambda who, text: None)
        self.transcript = Transcript([])
        self.work_started: float | None = None
        self.heard = first_line
        """Lines of the script used up so far (a resumed rehearsal starts after those heard)."""
        self.worked = worked
        """Work time already done (a resumed session): timed lines keep their place."""
        self.on_line = on_line or (lambda heard: None)
        self.unreached: list[float] = []
        """Times of the timed lines dropped because the work phase had ended."""

    def say(self, text: str) -> None:
        self._emit("Duet", text)

    def listen_answer(self, action: ListenForAnswer) -> Event:
        if action.phase != "note":  # a note dictated while working: the work phase goes on
            self._drop_passed_timed_lines()
        line = self.lines[0] if self.lines else None
        if action.phase == "note" and line is not None and line.at is not None:
            target = (self.work_started or 0.0) + line.at
            if target <= self.clock.now() + action.timeout:  # a timed line dictates the note too
                self.clock.advance_to(max(target, self.clock.now()))
                self._next()
                return self._speak(action.partner or "you", line.say or "")
        if line is None or line.silence or line.at is not None:
            if line is not None and line.silence:
                self._next()
            self.clock.advance(action.timeout)
            self._emit(action.partner or "you", "(silence)")
            return Silence()
        self._next()
        return self._speak(action.partner or "you", line.say or "")

    def listen_commands(self, action: ListenForCommands) -> Event:
        if action.phase == "work" and self.work_started is None:
            self.work_started = self.clock.now() - self.worked
        line = self.lines[0] if self.lines else None
        if line is not None and line.at is not None:
            target = (self.work_started or 0.0) + line.at
            if action.until is not None and action.until < target:
                self.clock.advance_to(action.until)
                return Tick()
            self.clock.advance_to(target)
            self._next()
            return self._speak("you", line.say or "")
        if action.phase == "paused" and line is not None and line.say is not None:  # heard at once
            self._next()
            return self._speak("you", line.say)
        if action.until is not None:
            self.clock.advance_to(action.until)
            return Tick()
        # resumed, a session is working again: a 'say: resume' added for ``duet resume`` was
        # stored as the first debrief answer (found in a QA pass)
        raise DuetError("the rehearsal script ended while the session was paused: add what is said after the "
                        "pause to its end (no 'say: resume': a resumed session is working again)")

    def _speak(self, who: str, text: str) -> Heard:
        self._emit(who, text)
        self.clock.advance(len(text.split()) / SPEAKING_RATE)
        return Heard(text=text, confidence=1.0)

    def _drop_passed_timed_lines(self) -> None:
        """Timed lines left when the work phase is over were never reached."""
        while self.work_started is not None and self.lines and self.lines[0].at is not None:
            line = self._next()
            self.unreached.append(line.at or 0.0)
            log.info("script line at %s was not reached: the work phase had ended", line.at)

    def _next(self) -> ScriptLine:
        line = self.lines.pop(0)
        self.heard += 1
        self.on_line(self.heard)
        return line

    def _emit(self, who: str, text: str) -> None:
        self.transcript.add(who, text, self.clock.now())
        self.echo(who, text)
