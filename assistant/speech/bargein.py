"""Barge-in: a partner who goes on speaking stops Duet's next question.

People pause to think in the middle of an answer. ``turns.py`` waits through a pause when the
words so far sound unfinished, but a half sentence can sound whole ("honestly I felt" heard as
"Honestly I failed.", "He might even have been made."), and Duet then asks the next question.
If the partner goes on within ``max_pause`` of where they stopped, the question is cut off
the moment their voice is heard and what they say joins the answer they were giving
(``Heard.continues``; the engine amends that answer and asks the question again).

While Duet speaks, the microphone hears Duet too. A ``BargeIn`` only runs where that voice has
been taken out of the signal (``echo.py``, or a headset: ``listening.barge_in``). It asks Silero
VAD (the command detector: it tells speech from noise best) about each frame, with the
endpointer's onset rule (0.18 s voiced within 0.3 s), so a click or a cough does not stop Duet.

Measured and not used: telling Duet's own voice (what the canceller lets through) from a
partner's by how much the microphone's spectrum (16 log bands, 25 ms frames, 0.3 s from the
onset) follows the question's at the best delay: Duet's own voice scored 0.58-0.83, a partner
over the question 0.37-0.90. Nothing to draw a line between.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Protocol

from assistant.speech.mic import Frame
from assistant.speech.vad import Endpointer, SpeechStarted

log = logging.getLogger(__name__)

ECHO_SETTLE = 0.8
"""Seconds at the start of each question in which no voice is looked for. WebRTC's canceller
lets the first 0.4-0.8 s of a question through almost whole while it finds the echo's delay
again (measured with the speaker looped back into the microphone: 44-71 dB there, 0-15 dB
after); a partner who goes on then is heard a moment later, from their first word on."""

PRE_ROLL = 0.5
"""Seconds of audio before the partner's first voiced frame given back with it (the
recognizers lose the first phoneme without it; the listener's own pre-roll is as long)."""


class Rewindable(Protocol):
    """A microphone that can be read without waiting and given frames back."""

    def read(self, timeout: float) -> Frame | None: ...

    def unread(self, frames: list[Frame]) -> None: ...


class BargeIn:
    """``Speaker.play``'s ``stop`` while Duet asks a question a partner may talk into.

    Each call reads the frames the microphone has captured since the last, and returns True once
    speech has started in them (before ``until``, clock time). ``give_back`` then returns the
    partner's words, from ``PRE_ROLL`` before they began, to the microphone for the listener.
    """

    def __init__(self, mic: Rewindable, until: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._mic = mic
        self._until = until
        self._clock = clock
        self._endpointer = Endpointer(detector="silero", pre_roll=PRE_ROLL)
        self._frames: list[Frame] = []
        self._speech_from: int | None = None  # index into _frames where the given-back audio begins
        self._began = clock()
        self._deaf_until = self._began + ECHO_SETTLE  # frames captured before are kept, not judged
        self._fed_from: int | None = None  # index into _frames of the first frame judged

    @property
    def heard(self) -> bool:
        """True once a partner's voice was heard."""
        return self._speech_from is not None

    def __call__(self) -> bool:
        if self._speech_from is not None:
            return True
        if self._clock() >= self._until:
            return False  # too late to be the same answer going on
        while (frame := self._mic.read(0.0)) is not None:
            if (start := self._started(frame)) is not None:
                self._speech_from = self._frame_at(start.start_time)
                log.info("a partner speaks over the question (from %.2f s into it): Duet stops",
                         self._onset(start).start_time - self._began)
                return True
        return False

    def _started(self, frame: Frame) -> SpeechStarted | None:
        """Keep ``frame`` and judge it: speech's start, if the endpointer confirmed one on it
        (none while the canceller settles)."""
        self._frames.append(frame)
        if frame.start_time < self._deaf_until:
            return None
        if self._fed_from is None:
            self._fed_from = len(self._frames) - 1
        return next((e for e in self._endpointer.feed(frame.pcm) if isinstance(e, SpeechStarted)), None)

    def _onset(self, start: SpeechStarted) -> Frame:
        """The frame in which the partner's first voiced sound was captured."""
        return self._frames[self._frame_at(start.onset_time)]

    def settle(self, finished: float, heard_to: float) -> bool:
        """After the question ended (clock time ``finished``): go on reading frames captured up
        to ``heard_to``. A voice that began before ``finished`` but was confirmed only after
        (it began in the question's last fifth of a second) still continues the answer: True
        then. A voice that began after is an answer to the question (False)."""
        while not self.heard:
            frame = self._mic.read(0.1)
            if frame is None or frame.start_time >= heard_to:
                if frame is not None:
                    self._mic.unread([frame])
                return False
            if (start := self._started(frame)) is None:
                continue
            if self._onset(start).start_time >= min(finished, self._until):
                return False
            self._speech_from = self._frame_at(start.start_time)
            log.info("a partner went on as the question ended")
        return True

    def give_back(self) -> None:
        """Put the partner's speech (with its pre-roll) back on the microphone."""
        if self._speech_from is not None:
            self._mic.unread(self._frames[self._speech_from:])
            self._frames = []

    def _frame_at(self, stream_time: float) -> int:
        """Index into the kept frames of the one that holds the endpointer's stream time
        ``stream_time`` (s of audio judged)."""
        fed, first = 0.0, self._fed_from or 0
        for i, frame in enumerate(self._frames[first:], start=first):
            if fed + frame.duration > stream_time + 1e-6:
                return i
            fed += frame.duration
        return len(self._frames) - 1
