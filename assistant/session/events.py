"""What flows into the session engine (events) and out of it (actions).

The engine is a pure function of these: a runner turns microphone audio, a rehearsal script or a
test into events, and turns actions into speech and listening. That seam is why a whole session
can be rehearsed in milliseconds and then run, unchanged, through a real microphone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ---- events: the world -> the engine


@dataclass(frozen=True)
class Heard:
    """Someone said something (an answer, a command, or talk)."""

    text: str
    """The transcript."""
    confidence: float | None = None
    """Recognizer confidence 0..1, when known."""
    words: tuple[dict[str, Any], ...] = ()
    """Word timings (text, start, end, confidence), when known."""
    continues: bool = False
    """The rest of the last answer: the partner went on with it over the next question, which
    Duet cut off (barge-in). Empty text: they stopped again at once."""
    talked_over: bool = False
    """The answer began while Duet was still asking, with the microphone muted for its voice:
    the text (maybe none) is only its end."""


@dataclass(frozen=True)
class Silence:
    """Nobody answered within the answer timeout."""


@dataclass(frozen=True)
class Tick:
    """Time has passed (the engine reads its clock)."""


@dataclass(frozen=True)
class MicrophoneLost:
    """The microphone stopped delivering audio (unplugged, or its driver went away)."""


@dataclass(frozen=True)
class MicrophoneBack:
    """The microphone works again."""


Event = Heard | Silence | Tick | MicrophoneLost | MicrophoneBack

# ---- actions: the engine -> the world


@dataclass(frozen=True)
class Say:
    """Speak this aloud (or print it where there is no speaker)."""

    text: str


@dataclass(frozen=True)
class ListenForAnswer:
    """Capture one free-form answer; reply with ``Heard`` or, after ``timeout``, ``Silence``."""

    phase: str
    """``checkin``, ``debrief`` or ``note`` (a note being dictated in the work phase)."""
    partner: str | None
    """Who is being asked (``both`` for together-questions), None for a note."""
    question: str
    timeout: float
    """Seconds of silence before giving up on an answer."""
    ahead: tuple[str, ...] = ()
    """What Duet will most likely say once the answer is in (the next question), so a port can
    render it while the partner speaks and play it the moment the turn ends."""
    awaited: tuple[str, ...] = ()
    """Commands (``Intent`` values) that mean something in place of this answer now, which a
    port may take on less evidence than an exact transcript: those of any question (skip, pause,
    stop ...), ``cancel`` just after the debrief was started by command, ``extend`` just after
    time up ended the work."""


@dataclass(frozen=True)
class ListenForCommands:
    """Listen for spoken commands; reply with ``Heard`` or, by time ``until``, ``Tick``."""

    phase: str
    """``work``, ``paused``, or ``debrief`` (the breath before its first question)."""
    until: float | None
    """Clock time of the next thing the engine must do by itself; None: only a command."""
    awaited: tuple[str, ...] = ()
    """Commands (``Intent`` values) the session is waiting for: while paused, "resume". The
    command spotter takes one of these on less evidence than the others."""
    confirming: bool = False
    """"Stop the session?" is open: a yes now stops it. Any other time the session takes a yes
    as talk, and the live port does not show it as a command."""
    listen_for: float = 0.0
    """Seconds to listen at the least, counted from when listening begins, after Duet's words
    (so not before ``until`` nor before then): the breath before the debrief's first question
    was spent on Duet's own sentence, and a QA pass heard 0.35 s of it."""


@dataclass(frozen=True)
class Finished:
    """The session is over; nothing more to listen for."""

    status: str
    """``done`` or ``aborted``."""


Action = Say | ListenForAnswer | ListenForCommands | Finished
Listening = ListenForAnswer | ListenForCommands | Finished
