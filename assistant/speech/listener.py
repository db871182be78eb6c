"""Listening: microphone frames, cut into utterances by the endpointer, fed to a recognizer.

Two ways to listen, because answers and commands differ:

* ``capture_answer``: a partner answers a question. Wait for speech to begin, stream the
  utterance into the free-form (answer) recognizer with partial results for live display, and end
  on a long pause (``trailing_silence``, 1.2 s: people pause while thinking) or ``max_answer``.
* ``next_command``: between questions Duet only listens for a few phrases. The command
  engine is fed nothing but speech (each utterance with its pre-roll), so an hour of silence
  costs the endpointer's few microseconds per frame and no recognition at all; a short pause
  (``command_silence``) ends a command so Duet reacts quickly. An engine that ``decides_early``
  (the spotter) is offered the utterance already after ``quick_silence``: a whole phrase is
  acted on then, anything else waits for the full pause (and is not decoded again if nothing
  more was said).

A fresh recognizer stream is opened per utterance (asr.py: long-lived streams grow in memory).
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterator, Protocol

from assistant.config import ListeningConfig
from assistant.speech.asr import RecognitionStream, Recognizer, Transcript
from assistant.speech.mic import Frame
from assistant.speech.vad import (
    Endpointer,
    Event,
    SpeechChunk,
    SpeechEnded,
    SpeechStarted,
)

log = logging.getLogger(__name__)

_POLL = 0.25
"""Longest single wait on the microphone, so deadlines are checked a few times a second."""


class FrameSource(Protocol):
    """Where audio comes from: a ``Microphone``, or anything that reads like one."""

    def read(self, timeout: float) -> Frame | None:
        """The next 16 kHz mono int16 frame, or None if none came within ``timeout`` s."""


class Listener:
    """Turns what the microphone hears into transcripts of answers and commands."""

    def __init__(
        self,
        mic: FrameSource,
        answer_recognizer: Recognizer,
        command_recognizer: Recognizer,
        *,
        trailing_silence: float = 1.2,
        command_silence: float = 0.5,
        max_answer: float = 60.0,
        max_command: float = 5.0,
        quick_silence: float = 0.25,
        command_vad: str = "silero",
        vad_aggressiveness: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """
        Args:
            mic: an open ``Microphone`` (or another ``FrameSource``).
            answer_recognizer: free-form engine for answers.
            command_recognizer: grammar engine for command phrases.
            trailing_silence: pause (s) that ends an answer.
            command_silence: pause (s) that ends a command.
            max_answer: longest answer (s); a longer one is cut and returned.
            max_command: longest command utterance (s); longer speech is not a command.
            quick_silence: with an engine that ``decides_early`` (the spotter), the utterance is
                offered after this much silence, and a whole phrase is acted on at once.
            command_vad: what finds speech between commands: ``silero`` (Silero VAD: found
                every benchmark command at 10 and 5 dB SNR where webrtcvad behind its energy
                gate found 26 % and 3 %) or ``webrtc``. Answers keep webrtcvad.
            vad_aggressiveness: webrtcvad mode 0..3.
            clock: monotonic time source for timeouts and deadlines.
        """
        self._mic = mic
        self._answers = answer_recognizer
        self._commands = command_recognizer
        self._trailing_silence = trailing_silence
        self._command_silence = command_silence
        self._max_answer = max_answer
        self._max_command = max_command
        self._quick_silence = quick_silence
        self._command_vad = command_vad
        self._aggressiveness = vad_aggressiveness
        self._clock = clock

    @classmethod
    def from_config(cls, mic: FrameSource, answer_recognizer: Recognizer,
                    command_recognizer: Recognizer, listening: ListeningConfig,
                    clock: Callable[[], float] = time.monotonic) -> "Listener":
        """A listener with the configured pauses, limits and VAD mode (``listening:``)."""
        return cls(mic, answer_recognizer, command_recognizer,
                   trailing_silence=listening.trailing_silence,
                   command_silence=listening.command_silence,
                   max_answer=listening.max_answer,
                   vad_aggressiveness=listening.vad_aggressiveness,
                   clock=clock)

    def capture_answer(self, timeout: float,
                       on_partial: Callable[[str], None] | None = None) -> Transcript | None:
        """The next answer, or None if nobody starts speaking within ``timeout`` seconds.

        Also None when the recognizer made no words of the utterance. ``on_partial`` gets each
        new partial text while the answer is spoken. Raises MicrophoneLost from the microphone.
        """
        endpointer = self._endpointer(self._trailing_silence, self._max_answer)
        deadline = self._clock() + timeout
        stream: RecognitionStream | None = None
        last_partial = ""
        for event in self._events(endpointer, lambda: stream is None and self._past(deadline)):
            if isinstance(event, SpeechStarted):
                log.debug("answer started (onset at stream time %.2f s)", event.onset_time)
                stream = self._answers.stream()
            assert stream is not None
            if isinstance(event, SpeechEnded):
                return _final(stream, "answer", event)
            partial = stream.accept(event.pcm)
            if on_partial is not None and partial and partial != last_partial:
                last_partial = partial
                on_partial(partial)
        log.debug("no answer within %.1f s", timeout)
        return None

    def next_command(self, until: float) -> Transcript | None:
        """The first command heard before monotonic time ``until``, else None at ``until``.

        Utterances in which the grammar recognizer finds no words are skipped, and so is long
        talk: speech cut at ``max_command``, and its continuation, is never taken for a command
        (nor recognized at all). An utterance still going on at ``until`` is abandoned. Raises
        MicrophoneLost from the microphone.
        """
        endpointer = Endpointer(aggressiveness=self._aggressiveness, trailing_silence=self._command_silence,
                                max_length=self._max_command, detector=self._command_vad)
        stream: RecognitionStream | None = None
        cut_at: float | None = None  # stream time where long talk was last cut
        early = getattr(self._commands, "decides_early", False) and self._quick_silence < self._command_silence
        tried = False  # the utterance so far was already offered after a short pause
        for event in self._events(endpointer, lambda: self._past(until)):
            if early and stream is not None and endpointer.in_speech:
                pause = endpointer.silence
                if pause == 0.0:
                    tried = False
                elif pause >= self._quick_silence and not tried:
                    tried = True
                    quick = _peek(stream)  # a whole phrase already? act without waiting
                    if quick is not None:
                        log.debug("command after a %.2f s pause: %r", pause, quick.text)
                        return quick
            if isinstance(event, SpeechStarted):
                continues = cut_at is not None and \
                    event.onset_time - cut_at < self._command_silence
                stream = None if continues else self._commands.stream()
            if isinstance(event, (SpeechStarted, SpeechChunk)):
                if stream is not None:
                    stream.accept(event.pcm)
            elif event.reason == "max_length":
                cut_at, stream = event.end_time, None
                log.debug("long talk (over %.1f s): not a command", self._max_command)
            elif stream is not None and early and tried:
                stream = None  # nothing said since it was offered and turned down
            elif stream is not None:
                transcript = _final(stream, "command", event)
                stream = None
                if transcript is not None:
                    return transcript
            tried = tried and endpointer.in_speech
        return None

    # -- internals ---------------------------------------------------------------------------

    def _endpointer(self, trailing_silence: float, max_length: float) -> Endpointer:
        return Endpointer(aggressiveness=self._aggressiveness, trailing_silence=trailing_silence,
                          max_length=max_length)

    def _past(self, deadline: float) -> bool:
        return self._clock() >= deadline

    def _events(self, endpointer: Endpointer, done: Callable[[], bool]) -> Iterator[Event]:
        """Endpointer events from the microphone until ``done()`` (checked between frames)."""
        while not done():
            frame = self._mic.read(_POLL)
            if frame is not None:
                yield from endpointer.feed(frame.pcm)


def _peek(stream: RecognitionStream) -> Transcript | None:
    """A decides-early engine's verdict on the audio so far (its stream stays open), or None."""
    transcript = stream.finish()
    return transcript if transcript.text.strip() else None


def _final(stream: RecognitionStream, kind: str, ended: SpeechEnded) -> Transcript | None:
    """Finish the recognizer's stream; None when it found no words."""
    transcript = stream.finish()
    seconds = ended.end_time - ended.start_time
    if not transcript.text.strip():
        log.debug("%s of %.1f s (%s): no words recognized", kind, seconds, ended.reason)
        return None
    log.debug("%s of %.1f s (%s): %r", kind, seconds, ended.reason, transcript.text)
    return transcript
